// Shared plumbing of the client scripts in this folder. Each script is run as a child process by
// test/helpers/clients.ts (runClient) and prints one JSON line per check on stdout:
//   {"client":"ai-sdk","check":"streamText","ok":true,"ms":12,"detail":{"text":"echo:…"}}
// `detail.text` is the reply text the client saw, so a test can decode the mock upstream's echo and see
// what arrived upstream (directive placement). A failed check carries `error` instead of throwing, so one
// broken route never hides the others.
//
// Environment:
//   BASE_URL          gateway or mock origin, with or without a trailing /v1 (loopback only)
//   API_KEY           the PAT (gateway) or any key (mock)
//   IBEX_SESSION      sent as X-Ibex-Session when set
//   IBEX_AGENT        sent as X-Ibex-Agent when set
//   MODEL             model for OpenAI-protocol checks (default gpt-4o-mini)
//   ANTHROPIC_MODEL   model for Anthropic checks (default claude-sonnet-4-6)
//   CHECKS            comma-separated check names to run (default: all)
//   CHECK_TIMEOUT_MS  bound of one check (default 15000)
//   SCRIPT_TIMEOUT_MS bound of the whole script (default 120000)
//
// This module is imported FIRST by every script: it installs the loopback guard on globalThis.fetch
// before any SDK captures fetch, so a mis-set base URL or a telemetry exporter can never reach the network.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function isLoopback(url) {
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!isLoopback(url)) return Promise.reject(new Error(`client script refused a non-loopback request: ${url}`));
  return realFetch(input, init);
};

function envInt(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) fatal(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function fatal(message) {
  process.stderr.write(`client script: ${message}\n`);
  process.exit(2);
}

/** The run's settings from the environment (see the header comment). Exits 2 on a bad setting. */
export function settings() {
  const raw = process.env.BASE_URL;
  if (!raw) fatal('BASE_URL is required');
  const origin = raw.replace(/\/+$/, '').replace(/\/v1$/, '');
  if (!isLoopback(origin)) fatal(`BASE_URL must be a loopback address, got ${raw}`);
  const apiKey = process.env.API_KEY;
  if (!apiKey) fatal('API_KEY is required');
  const headers = {};
  if (process.env.IBEX_SESSION) headers['X-Ibex-Session'] = process.env.IBEX_SESSION;
  if (process.env.IBEX_AGENT) headers['X-Ibex-Agent'] = process.env.IBEX_AGENT;
  const only = process.env.CHECKS ? new Set(process.env.CHECKS.split(',').map((s) => s.trim()).filter(Boolean)) : null;
  return {
    origin,
    v1: `${origin}/v1`,
    apiKey,
    headers,
    model: process.env.MODEL || 'gpt-4o-mini',
    anthropicModel: process.env.ANTHROPIC_MODEL || 'claude-sonnet-4-6',
    only,
    checkTimeoutMs: envInt('CHECK_TIMEOUT_MS', 15_000),
    scriptTimeoutMs: envInt('SCRIPT_TIMEOUT_MS', 120_000),
  };
}

/** Fails the current check with `message` unless `cond` holds. */
export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/** Fails unless `text` is the mock upstream's echo (`echo:` + JSON of what it received). */
export function expectEcho(text, what = 'reply') {
  expect(typeof text === 'string' && text.startsWith('echo:'), `${what} is not the mock's echo: ${preview(text)}`);
}

export function preview(value, max = 200) {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s === undefined ? String(value) : s.length > max ? `${s.slice(0, max)}…` : s;
}

// The fixed tool every script declares. The mock's trigger `call:NAME {json}` (the last user text)
// makes it answer with this call; the tool's result carries a marker the echo of the next turn shows.
export const TOOL_NAME = 'get_weather';
export const TOOL_ARGS = { city: 'Paris' };
export const TOOL_TRIGGER = `call:${TOOL_NAME} ${JSON.stringify(TOOL_ARGS)}`;
export const TOOL_DESCRIPTION = 'Current weather in a city';
export const TOOL_PARAMETERS = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
};
/** What the tool returns: the marker is looked for in the echo of the turn after the call. */
export function toolResult(args) {
  return JSON.stringify({ city: args?.city, forecast: 'sunny-21C' });
}
export const TOOL_MARKER = 'sunny-21C';

// The mock's `json:{…}` trigger: the reply text is exactly that JSON, so structured-output helpers
// (responses.parse, generateObject) get schema-valid text without a real model.
export const OBJECT_VALUE = { city: 'Paris', temp_c: 21 };
export const OBJECT_TRIGGER = `json:${JSON.stringify(OBJECT_VALUE)}`;

/** One line per check on stdout. */
function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function describeError(err) {
  if (!(err instanceof Error)) return String(err);
  const parts = [`${err.name}: ${err.message}`];
  // SDK errors: openai/anthropic APIError (status, error body), ai-sdk APICallError (statusCode, responseBody)
  const status = err.status ?? err.statusCode;
  if (status !== undefined && !err.message.includes(String(status))) parts.push(`status ${status}`);
  if (err.responseBody) parts.push(`body ${preview(err.responseBody, 300)}`);
  else if (err.error && typeof err.error === 'object') parts.push(`body ${preview(err.error, 300)}`);
  if (err.cause instanceof Error) parts.push(`cause ${err.cause.message}`);
  return parts.join('; ');
}

/**
 * Runs `checks` ([name, fn(ctx)] pairs, in order) and prints their lines. `fn` gets
 * { signal, timeoutMs } and returns the detail (an object, usually with `text`). Exits 0 when
 * every check that ran passed, 1 otherwise; a check longer than CHECK_TIMEOUT_MS fails, the whole
 * script is cut at SCRIPT_TIMEOUT_MS (exit 3).
 */
export async function runChecks(client, cfg, checks) {
  const deadline = setTimeout(() => {
    process.stderr.write(`client script ${client}: over SCRIPT_TIMEOUT_MS (${cfg.scriptTimeoutMs} ms), giving up\n`);
    process.exit(3);
  }, cfg.scriptTimeoutMs);
  deadline.unref();

  const known = new Set(checks.map(([name]) => name));
  for (const name of cfg.only ?? []) {
    if (!known.has(name)) fatal(`unknown check ${JSON.stringify(name)} for ${client}; known: ${[...known].join(', ')}`);
  }

  let failed = 0;
  for (const [check, fn] of checks) {
    if (cfg.only && !cfg.only.has(check)) continue;
    const controller = new AbortController();
    const start = performance.now();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`check timed out after ${cfg.checkTimeoutMs} ms`));
      }, cfg.checkTimeoutMs);
    });
    try {
      const detail = await Promise.race([fn({ signal: controller.signal, timeoutMs: cfg.checkTimeoutMs }), timeout]);
      emit({ client, check, ok: true, ms: Math.round(performance.now() - start), detail: detail ?? null });
    } catch (err) {
      failed++;
      emit({ client, check, ok: false, ms: Math.round(performance.now() - start), error: describeError(err) });
    } finally {
      clearTimeout(timer);
    }
  }
  clearTimeout(deadline);
  return failed === 0 ? 0 : 1;
}
