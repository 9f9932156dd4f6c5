import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicies, PolicyLoadError } from '../../src/policies/registry.js';
import { PolicyRun } from '../../src/policies/run.js';
import { IbexError } from '../../src/errors.js';
import { parseVerdict } from '../../src/policies/builtin/judge.js';
import type { ReplyFacts } from '../../src/protocols/types.js';
import { summarise as chatSummarise } from '../../src/protocols/openai-chat/summarise.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/policies');

async function run(specs: { use: string; [k: string]: unknown }[], protocol: string, body: Record<string, unknown>, stream = false) {
  const policies = await loadPolicies(
    specs.map(({ use, ...options }) => ({ use, options })),
    FIXTURES,
  );
  const r = new PolicyRun(policies, 'support', protocol);
  try {
    const model = await r.onRequest(body, String(body.model), stream);
    return { ok: true as const, model, body, run: r };
  } catch (err) {
    return { ok: false as const, err: err as IbexError, body, run: r };
  }
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });
const responses = (input: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', input, instructions: 'be brief', ...extra });
const messages = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 4000,
  system: 'sys',
  messages: [{ role: 'user', content: [{ type: 'text', text: content }] }],
  ...extra,
});

describe('deny-patterns', () => {
  const spec = [{ use: 'deny-patterns', patterns: ['(?i)password'], phrases: ['rm -rf /'] }];
  for (const [protocol, body] of [
    ['openai-chat', chat('my PassWord is hunter2')],
    ['openai-responses', responses('tell me the password')],
    ['anthropic-messages', messages('PASSWORD please')],
    ['openai-completions', { model: 'x', prompt: 'password:' }],
  ] as const) {
    it(`blocks in ${protocol} with 400 policy_violation naming the policy`, async () => {
      const r = await run(spec, protocol, structuredClone(body));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.err.status).toBe(400);
      expect(r.err.code).toBe('policy_violation');
      expect(r.err.message).toContain('deny-patterns');
      expect(r.run.allDecisions()).toEqual([expect.objectContaining({ policy: 'deny-patterns', action: 'reject', phase: 'request' })]);
    });
  }

  it('phrases are literal and case-insensitive; clean text passes', async () => {
    expect((await run(spec, 'openai-chat', chat('please RM -RF / now'))).ok).toBe(false);
    expect((await run(spec, 'openai-chat', chat('rm -rf ./build is fine'))).ok).toBe(true);
    expect((await run(spec, 'openai-chat', chat('pass the word'))).ok).toBe(true);
  });

  it('a bad regex fails at load time with the policy named', async () => {
    await expect(loadPolicies([{ use: 'deny-patterns', options: { patterns: ['(unclosed'] } }], '.')).rejects.toThrow(/deny-patterns.*bad pattern/);
  });
});

describe('pii-redact on requests', () => {
  it('rewrites the text of every protocol in place and records what it did', async () => {
    const c = await run([{ use: 'pii-redact', on: ['request'] }], 'openai-chat', chat('mail me at a.b@example.org'));
    expect((c.body.messages as { content: string }[])[0]!.content).toBe('mail me at [REDACTED_EMAIL]');
    expect(c.run.summary()).toBe('pii-redact request modify: redacted 1 email');
    const r = await run([{ use: 'pii-redact' }], 'openai-responses', responses('card 4111111111111111', { instructions: 'call +1 415 555 0100' }));
    expect(r.body).toMatchObject({ input: 'card [REDACTED_CARD]', instructions: 'call [REDACTED_PHONE]' });
    const a = await run([{ use: 'pii-redact' }], 'anthropic-messages', messages('key sk-ant-api03-abcdefghijklmnopqrstuvwxyz'));
    expect((a.body.messages as { content: { text: string }[] }[])[0]!.content[0]!.text).toBe('key [REDACTED_KEY]');
  });
});

describe('model-allowlist', () => {
  it('passes listed models and globs, refuses others', async () => {
    const spec = [{ use: 'model-allowlist', models: ['gpt-4o-mini', 'claude-*'] }];
    expect((await run(spec, 'openai-chat', chat('hi'))).ok).toBe(true);
    expect((await run(spec, 'anthropic-messages', messages('hi'))).ok).toBe(true);
    const r = await run(spec, 'openai-chat', chat('hi', { model: 'gpt-4o' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.err.message).toContain('model "gpt-4o" is not allowed');
  });
});

describe('max-tokens', () => {
  const spec = [{ use: 'max-tokens', max: 100, default: 50 }];
  it('clamps in each protocol\'s own field, sets the default when missing', async () => {
    expect((await run(spec, 'openai-chat', chat('hi', { max_tokens: 500 }))).body.max_tokens).toBe(100);
    expect((await run(spec, 'openai-chat', chat('hi', { max_completion_tokens: 500 }))).body.max_completion_tokens).toBe(100);
    expect((await run(spec, 'openai-chat', chat('hi'))).body.max_completion_tokens).toBe(50);
    expect((await run(spec, 'openai-chat', chat('hi', { max_tokens: 20 }))).body.max_tokens).toBe(20);
    expect((await run(spec, 'openai-responses', responses('hi', { max_output_tokens: 900 }))).body.max_output_tokens).toBe(100);
    expect((await run(spec, 'anthropic-messages', messages('hi'))).body.max_tokens).toBe(100);
  });
  it('refuses a default above max', async () => {
    await expect(loadPolicies([{ use: 'max-tokens', options: { max: 10, default: 20 } }], '.')).rejects.toThrow(PolicyLoadError);
  });
});

describe('tool-guard', () => {
  const tools = [
    { type: 'function', function: { name: 'search', parameters: {} } },
    { type: 'function', function: { name: 'shell', parameters: {} } },
    { type: 'function', function: { name: 'fs_write', parameters: {} } },
  ];
  it('removes denied tool definitions (globs) from the request', async () => {
    const r = await run([{ use: 'tool-guard', deny: ['shell', 'fs_*'] }], 'openai-chat', chat('hi', { tools }));
    expect((r.body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['search']);
    const a = await run([{ use: 'tool-guard', allow: ['search'] }], 'anthropic-messages', messages('hi', { tools: [{ name: 'search' }, { name: 'shell' }] }));
    expect(a.body.tools).toEqual([{ name: 'search' }]);
    const s = await run([{ use: 'tool-guard', deny: ['shell'] }], 'openai-responses', responses('hi', { tools: [{ type: 'function', name: 'shell' }, { type: 'web_search' }] }));
    expect(s.body.tools).toEqual([{ type: 'web_search' }]);
  });

  it('blocks a reply that calls a denied tool', async () => {
    const r = await run([{ use: 'tool-guard', deny: ['shell'] }], 'openai-chat', chat('hi'));
    const reply = { choices: [{ message: { content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'shell', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] };
    const buf = Buffer.from(JSON.stringify(reply));
    const facts: ReplyFacts = chatSummarise(reply);
    await expect(r.run.onResponse(buf, facts, 'gpt-4o-mini', chatSummarise)).rejects.toMatchObject({ code: 'policy_violation', message: expect.stringContaining('tool "shell"') });
  });
});

describe('judge verdicts', () => {
  it('BLOCK wins, ALLOW allows, nothing → blocked unless failOpen', () => {
    expect(parseVerdict('ALLOW: fine', false)).toEqual({ allow: true });
    expect(parseVerdict('BLOCK - deletes data', false).allow).toBe(false);
    expect(parseVerdict('ALLOW or BLOCK?', false).allow).toBe(false);
    expect(parseVerdict('hmm', false).allow).toBe(false);
    expect(parseVerdict('hmm', true).allow).toBe(true);
  });
  it('requires a model', async () => {
    await expect(loadPolicies([{ use: 'judge', options: {} }], '.')).rejects.toThrow(/judge.*model/);
  });
});

describe('registry', () => {
  it('unknown names list the built-ins', async () => {
    await expect(loadPolicies([{ use: 'pii-redcat', options: {} }], '.')).rejects.toThrow(/unknown policy "pii-redcat".*pii-redact/);
  });
  it('unknown options are refused', async () => {
    await expect(loadPolicies([{ use: 'pii-redact', options: { onn: ['request'] } }], '.')).rejects.toThrow(/unknown option "onn"/);
  });
  it('loads a local ES module relative to the config folder, with its options and per-request state', async () => {
    const r = await run([{ use: './no-shouting.mjs', minLength: 4 }], 'openai-chat', chat('STOP THAT'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.err.message).toBe('Blocked by policy no-shouting: please do not shout');
    expect((await run([{ use: './no-shouting.mjs', minLength: 40 }], 'openai-chat', chat('STOP THAT'))).ok).toBe(true);
    await expect(loadPolicies([{ use: './missing.mjs', options: {} }], FIXTURES)).rejects.toThrow(/not found/);
  });
  it('modify by a non-streamed reply policy rewrites the JSON and the facts', async () => {
    const r = await run([{ use: './no-shouting.mjs' }], 'openai-chat', chat('hi'));
    const reply = { id: 'x', choices: [{ message: { role: 'assistant', content: 'the SECRET word' }, finish_reason: 'stop' }] };
    const out = await r.run.onResponse(Buffer.from(JSON.stringify(reply)), chatSummarise(reply), 'm', chatSummarise);
    expect(JSON.parse(out.reply.toString()).choices[0].message.content).toBe('the secret word');
    expect(out.facts.text).toBe('the secret word');
  });
});
