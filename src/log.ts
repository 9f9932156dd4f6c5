// A deliberately small logger: one line per event on stderr, nothing on the request hot path except
// errors. Every line passes through redact(), so a PAT or provider key that slips into a message
// (an error from a library, a URL) is masked before it is written.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/ibex_pat_[0-9A-Za-z]{4,}/g, 'ibex_pat_***'],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, 'sk-***'],
  [/(bearer\s+)[^\s"',]+/gi, '$1***'],
  [/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1***@'],
];

/** What a secret is replaced with, in logs and in relayed provider text. */
export const SECRET_MASK = '***';

/** Exact secrets of this process (the upstream key, the admin token), whatever their shape. */
const registeredSecrets = new Set<string>();

/** The same secrets as bytes, built once per registration (scanned on every upstream reply). */
let secretBuffers: readonly Buffer[] = [];

/** Makes redact() mask `secret` wherever it appears; ignores values too short to be a secret. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8 && !registeredSecrets.has(secret)) {
    registeredSecrets.add(secret);
    secretBuffers = [...registeredSecrets].map((s) => Buffer.from(s, 'utf8'));
  }
}

/** The registered secrets as UTF-8 bytes, for code that scans raw bodies (pipeline/redact-reply.ts). */
export function registeredSecretBytes(): readonly Buffer[] {
  return secretBuffers;
}

export function redact(text: string): string {
  let out = text;
  for (const secret of registeredSecrets) if (out.includes(secret)) out = out.split(secret).join(SECRET_MASK);
  for (const [re, rep] of SECRET_PATTERNS) out = out.replace(re, rep);
  return out;
}

export function createLogger(level: string = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = ORDER[(level as LogLevel) in ORDER ? (level as LogLevel) : 'info'];
  const emit = (lvl: LogLevel, msg: string) => {
    if (ORDER[lvl] < min) return;
    write(redact(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}`));
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m, err) => emit('error', err ? `${m}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` : m),
  };
}
