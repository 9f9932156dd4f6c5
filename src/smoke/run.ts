// `ibex smoke`: an end-to-end check of a gateway with the official `openai` client, one line per step.
//
// Modes:
// - no --url: starts its own gateway (`ibex serve --mock`, child process) on a temporary embedded
//   store and removes everything afterwards;
// - --url URL: a running gateway whose stores are the ones configured here (IBEX_HOME /
//   IBEX_DATABASE_URL / IBEX_CLICKHOUSE_URL …): the throw-away agent, directive and PAT are created
//   in them, checkpoint and trace are read from them, and the PAT is revoked and the agent disabled
//   at the end;
// - --url URL --token PAT: no store access at all. Only the HTTP steps run (both requests, and the
//   directive check when the upstream is the mock); the steps that need the stores (create, session
//   checkpoint, trace, revocation) are reported as skipped, and nothing is revoked.
//
// Steps stop at the first failure (the later ones depend on it); cleanup always runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type IbexConfig } from '../config.js';
import { openStores, type OpenedStores } from '../stores/factory.js';
import { createAgent, createPat, revokePat, setAgentEnabled } from '../ops/identity.js';
import { setDirective } from '../ops/directives.js';
import { embeddedEnv, ibexBin, startChild, type ManagedChild } from '../bench/children.js';
import { parseEcho, parseResponsesEcho } from './echo.js';

export interface SmokeOptions {
  /** a running gateway; unset → start one */
  url?: string;
  /** use this PAT instead of creating one (needs `url`); store steps are skipped */
  token?: string;
  /** where step lines go (default stdout) */
  print?: (line: string) => void;
  /** how long a revoked PAT may keep working (default 5 s, the contract's bound) */
  revocationDeadlineMs?: number;
  /** how soon a trace must be queryable after the response ended (default 500 ms) */
  traceDeadlineMs?: number;
}

export interface StepResult {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  ms: number;
  detail?: string;
}

export interface SmokeResult {
  ok: boolean;
  steps: StepResult[];
  /** the first failed step */
  failedStep?: string;
}

class StepFailure extends Error {}

/** Throws a failure with `reason` unless `cond` holds. */
function check(cond: unknown, reason: string): asserts cond {
  if (!cond) throw new StepFailure(reason);
}

const MODEL = 'gpt-4o-mini';
const CHECKPOINT_DEADLINE_MS = 5_000;

export async function runSmoke(opts: SmokeOptions = {}): Promise<SmokeResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const revocationDeadlineMs = opts.revocationDeadlineMs ?? 5_000;
  const traceDeadlineMs = opts.traceDeadlineMs ?? 500;
  const steps: StepResult[] = [];
  let failed: string | undefined;

  async function step<T>(name: string, fn: () => Promise<T>, describeOk?: (value: T) => string | undefined): Promise<T> {
    const t0 = performance.now();
    try {
      const value = await fn();
      const ms = Math.round(performance.now() - t0);
      const detail = describeOk?.(value);
      steps.push({ name, status: 'passed', ms, ...(detail ? { detail } : {}) });
      print(`✓ ${name} (${ms} ms)${detail ? ` — ${detail}` : ''}`);
      return value;
    } catch (err) {
      const ms = Math.round(performance.now() - t0);
      const reason = describeError(err);
      steps.push({ name, status: 'failed', ms, detail: reason });
      print(`✗ ${name}: ${reason}`);
      failed = name;
      throw new StepFailure(reason);
    }
  }
  function skip(name: string, why: string): void {
    steps.push({ name, status: 'skipped', ms: 0, detail: why });
    print(`- ${name}: skipped (${why})`);
  }

  const own = opts.url === undefined;
  let home: string | undefined;
  let gateway: ManagedChild | undefined;
  let stores: OpenedStores | undefined;
  let patId: string | undefined;
  let agentName: string | undefined;
  const storeAccess = opts.token === undefined;
  const directiveText = `Smoke directive ${randomBytes(4).toString('hex')}: answer in one word.`;
  let directiveVersion: number | undefined;

  try {
    let url: string;
    if (own) {
      home = mkdtempSync(join(tmpdir(), 'ibex-smoke-'));
      const h = home;
      const started = await step('start gateway (ibex serve --mock)', async () => {
        return startChild({
          name: 'gateway',
          args: [ibexBin(), 'serve', '--mock', '--port', '0', '--host', '127.0.0.1'],
          env: embeddedEnv(h),
          ready: /ibex listening on (http:\/\/\S+)/,
        });
      }, (g) => g.url);
      gateway = started;
      url = started.url;
    } else {
      url = opts.url!.replace(/\/+$/, '').replace(/\/v1$/, '');
    }

    let token: string;
    if (storeAccess) {
      const config: IbexConfig = home ? loadConfig({}, { IBEX_HOME: home }) : loadConfig();
      const created = await step('create agent, directive and PAT', async () => {
        stores = await openStores(config);
        await stores.migrate();
        const name = `smoke-${randomBytes(4).toString('hex')}`;
        await createAgent(stores, { name, description: 'ibex smoke (throw-away)' });
        agentName = name;
        const d = await setDirective(stores, name, directiveText);
        const pat = await createPat(stores, { agents: [name], name: 'smoke' });
        patId = pat.record.id;
        return { name, token: pat.token, version: d.version };
      }, (c) => `agent ${c.name}`);
      token = created.token;
      directiveVersion = created.version;
    } else {
      token = opts.token!;
      skip('create agent, directive and PAT', 'using --token');
    }

    const { default: OpenAIClient } = await import('openai');
    const client = new OpenAIClient({ apiKey: token, baseURL: `${url}/v1`, maxRetries: 0, timeout: 30_000 });
    const userMessage = 'ibex smoke: say hello';

    const first = await step('non-streaming request', async () => {
      const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: userMessage }] }).withResponse();
      const content = data.choices[0]?.message?.content ?? '';
      check(content.length > 0, 'the reply has no content');
      const session = response.headers.get('x-ibex-session');
      check(session, 'the response has no X-Ibex-Session header');
      check(/overhead;dur=/.test(response.headers.get('server-timing') ?? ''), 'the response has no Server-Timing overhead');
      return { content, session, directiveHeader: response.headers.get('x-ibex-directive-version') };
    }, (r) => `session ${r.session}`);

    await directiveStep(first.content, first.directiveHeader, 'directive arrived first upstream');

    const streamed = await step('streaming request', async () => {
      const { data: stream, response } = await client.chat.completions
        .create(
          { model: MODEL, messages: [{ role: 'user', content: userMessage }], stream: true, stream_options: { include_usage: true } },
          { headers: { 'X-Ibex-Session': first.session } },
        )
        .withResponse();
      let content = '';
      let chunks = 0;
      let finish: string | null = null;
      for await (const chunk of stream) {
        chunks++;
        content += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      const endedAt = performance.now();
      check(chunks > 1, `expected several chunks, got ${chunks}`);
      check(content.length > 0, 'the stream carried no content');
      check(finish === 'stop', `the stream did not finish with "stop" (got ${finish})`);
      check(response.headers.get('x-ibex-session') === first.session, 'X-Ibex-Session did not continue the session');
      return { content, chunks, endedAt, directiveHeader: response.headers.get('x-ibex-directive-version') };
    }, (r) => `${r.chunks} chunks`);

    await directiveStep(streamed.content, streamed.directiveHeader, 'directive arrived first upstream (stream)');

    await step('Responses API request (streamed), directive first in instructions', async () => {
      const stream = client.responses.stream({ model: MODEL, input: userMessage, instructions: 'smoke instructions' });
      let deltas = 0;
      for await (const ev of stream) if (ev.type === 'response.output_text.delta') deltas++;
      const final = await stream.finalResponse();
      check(final.status === 'completed', `the response ended ${final.status}`);
      check(deltas > 0, 'the stream carried no text deltas');
      const echo = parseResponsesEcho(final.output_text);
      if (echo) {
        check(typeof echo.instructions === 'string', 'no instructions reached the upstream');
        if (storeAccess) check(echo.instructions!.startsWith(directiveText), `instructions upstream do not start with the directive: ${String(echo.instructions).slice(0, 120)}`);
        check(echo.instructions!.endsWith('smoke instructions'), 'the caller\'s own instructions were not kept after the directive');
      }
      return deltas;
    }, (n) => `${n} text deltas`);

    if (stores) {
      const s = stores;
      await step(`trace queryable within ${traceDeadlineMs} ms`, async () => {
        // Measured from the end of the stream: the trace of the last request must be visible by then.
        const deadline = streamed.endedAt + traceDeadlineMs;
        for (;;) {
          const traces = await s.traces.list({ sessionId: first.session, limit: 10 });
          if (traces.some((t) => t.stream)) return Math.round(performance.now() - streamed.endedAt);
          check(performance.now() < deadline, `no trace of the streaming request in session ${first.session} after ${traceDeadlineMs} ms`);
          await sleep(20);
        }
      }, (ms) => `after ${ms} ms`);

      await step('session checkpoint stored', async () => {
        const deadline = performance.now() + CHECKPOINT_DEADLINE_MS;
        for (;;) {
          const cps = await s.sessions.checkpoints(first.session);
          if (cps.length >= 2) {
            const byReply = cps.find((c) => !c.stream);
            check(byReply?.reply === first.content, 'the non-streaming checkpoint does not hold the reply the client received');
            const streamCp = cps.find((c) => c.stream);
            check(streamCp?.reply === streamed.content, 'the streaming checkpoint does not hold the reassembled reply');
            check(directiveVersion === undefined || byReply.directiveVersion === directiveVersion, 'the checkpoint does not record the directive version');
            return cps.length;
          }
          check(performance.now() < deadline, `session ${first.session} has ${cps.length} checkpoint(s) after ${CHECKPOINT_DEADLINE_MS} ms, expected 2`);
          await sleep(50);
        }
      }, (n) => `${n} checkpoints`);

      await step(`revoked PAT refused within ${revocationDeadlineMs / 1000} s`, async () => {
        await revokePat(s, patId!);
        const revokedAt = performance.now();
        let last = '';
        for (;;) {
          try {
            await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'after revoke' }] });
            last = '200';
          } catch (err) {
            const status = (err as { status?: number }).status;
            if (status === 401) return Math.round(performance.now() - revokedAt);
            last = describeError(err);
          }
          check(performance.now() - revokedAt < revocationDeadlineMs, `the revoked PAT still worked after ${revocationDeadlineMs} ms (last answer: ${last})`);
          await sleep(100);
        }
      }, (ms) => `refused after ${ms} ms`);
    } else {
      const why = 'needs store access; run without --token against the gateway\'s stores';
      skip(`trace queryable within ${traceDeadlineMs} ms`, why);
      skip('session checkpoint stored', why);
      skip(`revoked PAT refused within ${revocationDeadlineMs / 1000} s`, why);
    }
  } catch (err) {
    if (!(err instanceof StepFailure)) {
      // A bug or an unexpected error outside a step: still report it as a failure.
      failed = failed ?? 'smoke';
      print(`✗ smoke: ${describeError(err)}`);
    }
  } finally {
    await cleanup();
  }

  return failed ? { ok: false, steps, failedStep: failed } : { ok: true, steps };

  async function directiveStep(content: string, header: string | null, name: string): Promise<void> {
    const messages = parseEcho(content);
    if (!messages) {
      skip(name, 'the upstream is not the ibex mock, so what it received cannot be seen');
      return;
    }
    await step(name, async () => {
      const firstMsg = messages[0] as { role?: string; content?: unknown } | undefined;
      check(firstMsg?.role === 'system', `the first message upstream is ${JSON.stringify(firstMsg)}, not the system directive`);
      if (storeAccess) {
        check(firstMsg.content === directiveText, `the first system message upstream is not this agent's directive: ${JSON.stringify(firstMsg.content).slice(0, 120)}`);
      }
      const last = messages[messages.length - 1] as { role?: string; content?: unknown } | undefined;
      check(last?.role === 'user', 'the caller\'s message was not forwarded after the directive');
      check(header !== null, 'the response has no X-Ibex-Directive-Version header');
      if (directiveVersion !== undefined) check(header === String(directiveVersion), `X-Ibex-Directive-Version is ${header}, expected ${directiveVersion}`);
      return header;
    }, (v) => `version ${v}`);
  }

  async function cleanup(): Promise<void> {
    const t0 = performance.now();
    const problems: string[] = [];
    if (stores && !own) {
      // On someone else's gateway: leave nothing usable behind (the PAT may be revoked already).
      if (patId) await revokePat(stores, patId).catch((e: Error) => problems.push(`revoke: ${e.message}`));
      if (agentName) await setAgentEnabled(stores, agentName, false).catch((e: Error) => problems.push(`disable agent: ${e.message}`));
    }
    await stores?.close().catch(() => {});
    if (gateway) {
      await gateway.stop();
      if (gateway.exit && gateway.exit.code !== 0 && gateway.exit.signal === null) problems.push(`the gateway exited with code ${gateway.exit.code}`);
    }
    if (home) rmSync(home, { recursive: true, force: true });
    const ms = Math.round(performance.now() - t0);
    if (problems.length) {
      steps.push({ name: 'cleanup', status: 'failed', ms, detail: problems.join('; ') });
      print(`✗ cleanup: ${problems.join('; ')}`);
      failed = failed ?? 'cleanup';
    } else {
      const what = own ? 'gateway stopped, temporary store removed' : stores ? 'PAT revoked, agent disabled' : 'nothing to clean';
      steps.push({ name: 'cleanup', status: 'passed', ms, detail: what });
      print(`✓ cleanup (${ms} ms) — ${what}`);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The parts of an openai APIError we read (status, error body), without depending on its class. */
interface ApiErrorLike {
  status?: number;
  code?: string | null;
  error?: { code?: string; message?: string };
  message?: string;
  cause?: { code?: string };
}

/** One line for a failure: HTTP status and OpenAI error code when there is one, secrets never included. */
export function describeError(err: unknown): string {
  if (err instanceof StepFailure) return err.message;
  const e = (err ?? {}) as ApiErrorLike;
  if (typeof e.status === 'number') {
    const code = e.error?.code ?? e.code;
    return `${e.status}${code ? ` ${code}` : ''}: ${e.error?.message ?? e.message ?? ''}`.slice(0, 300);
  }
  const msg = e.message ?? String(err);
  const net = networkCause(err);
  return net ? `${msg} (${net})` : msg;
}

/**
 * The socket error under a client's "Connection error." (openai → fetch → undici nest it two or
 * three causes deep): its code and, when it has one, the address it could not reach; else the
 * innermost cause's message (fetch refuses some ports outright: "bad port").
 */
function networkCause(err: unknown): string | null {
  let c: unknown = (err as { cause?: unknown } | null)?.cause;
  let innermost: string | null = null;
  for (let depth = 0; depth < 4 && c && typeof c === 'object'; depth++) {
    const { code, address, port, message } = c as { code?: unknown; address?: unknown; port?: unknown; message?: unknown };
    if (typeof code === 'string') return typeof address === 'string' ? `${code} ${address}${typeof port === 'number' ? `:${port}` : ''}` : code;
    if (typeof message === 'string' && message !== '') innermost = message;
    c = (c as { cause?: unknown }).cause;
  }
  return innermost;
}
