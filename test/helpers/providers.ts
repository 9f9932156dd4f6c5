// Gateways configured by an ibex.yaml (issue 13): several in-process mock upstreams, the yaml written
// into a fresh IBEX_HOME before `ibex serve` starts, keys passed as environment variables.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from './gateway.js';

/** Writes `yaml` as $home/ibex.yaml and starts a gateway on it (no built-in mock). */
export async function startYamlGateway(yaml: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const home = mkdtempSync(join(tmpdir(), 'ibex-providers-'));
  writeFileSync(join(home, 'ibex.yaml'), yaml);
  // No OPENAI_API_KEY / IBEX_UPSTREAM_URL: the file alone must define the providers.
  return startTestGateway({ home, mock: false, env: { OPENAI_API_KEY: '', ...env } });
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ChatResult {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** A non-streaming chat call through the gateway. */
export async function chat(gw: TestGateway, token: string, model: string, content = 'hi', extra: Record<string, unknown> = {}): Promise<ChatResult> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}

/** The reply text of a chat completion. */
export function replyText(json: Record<string, unknown>): string {
  const choices = json.choices as { message: { content: string } }[] | undefined;
  return choices?.[0]?.message.content ?? '';
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5_000, every = 100): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}
