// judge: asks a model, through ibex itself (its routing, providers and keys), whether a tool call or a
// reply may go out: the seed's ToolCallJudge. The judge model answers in words; BLOCK blocks, ALLOW
// allows (BLOCK wins when both appear), anything else counts as no verdict (blocked, unless
// `failOpen: true`). A judge that fails (timeout, error) is treated the same way.
//   { use: judge, model: gpt-4o-mini, on: [tool_calls, reply], prompt: "…", failOpen: false, timeout: 10s }
// Streams: a tool call is held (nothing after it is forwarded) until the reply ends, then judged; a
// judged reply is held whole, up to the stream filter's bound, then judged.
import type { PolicyEnv, PolicyFactory, PolicyState, PolicyToolCall } from '../types.js';
import { allowedKeys, PolicyOptionError, sides } from './options.js';

const NAME = 'judge';

export const DEFAULT_JUDGE_PROMPT =
  'You review what an AI agent is about to do for a company. Read the tool call or reply below and answer ' +
  'with one word first: BLOCK if it is harmful, destructive, leaks secrets or breaks policy; ALLOW otherwise. ' +
  'Then give a one-line reason.';

export type Verdict = { allow: true } | { allow: false; reason: string };

export function parseVerdict(reply: string, failOpen: boolean): Verdict {
  if (/\bBLOCK\b/.test(reply)) return { allow: false, reason: `the judge blocked it: ${firstLine(reply)}` };
  if (/\bALLOW\b/.test(reply)) return { allow: true };
  return failOpen ? { allow: true } : { allow: false, reason: 'the judge gave no verdict' };
}

const firstLine = (s: string) => s.trim().split('\n')[0]!.slice(0, 200);

export const judge: PolicyFactory = (options, env: PolicyEnv) => {
  allowedKeys(NAME, options, ['model', 'on', 'prompt', 'failOpen', 'timeout']);
  if (typeof options.model !== 'string' || options.model === '') throw new PolicyOptionError(NAME, '"model" is required (the judge model)');
  const model = options.model;
  const on = sides(NAME, options, ['tool_calls', 'reply'] as const);
  const prompt = typeof options.prompt === 'string' ? options.prompt : DEFAULT_JUDGE_PROMPT;
  const failOpen = options.failOpen === true;
  const chat = env.chat;

  const ask = async (agent: string, what: string): Promise<Verdict> => {
    if (!chat) return failOpen ? { allow: true } : { allow: false, reason: 'no judge is available in this gateway' };
    try {
      const reply = await chat({ agent, model, messages: [{ role: 'system', content: prompt }, { role: 'user', content: what }] });
      return parseVerdict(reply, failOpen);
    } catch (err) {
      return failOpen ? { allow: true } : { allow: false, reason: `the judge failed: ${(err as Error).message}` };
    }
  };
  const askCalls = async (agent: string, calls: readonly PolicyToolCall[]): Promise<Verdict> => {
    for (const c of calls) {
      const v = await ask(agent, `Tool call: ${c.name}\nArguments: ${c.arguments}`);
      if (!v.allow) return { allow: false, reason: `tool "${c.name}": ${v.reason}` };
    }
    return { allow: true };
  };

  return {
    name: NAME,
    onRequest(req, state: PolicyState) {
      state.agent = req.agent; // the hooks after onRequest do not see the agent otherwise
      return { action: 'pass' };
    },
    async onChunk(chunk, state: PolicyState) {
      const agent = String(state.agent ?? '');
      if (chunk.kind === 'tool_call') {
        if (!on.has('tool_calls')) return { action: 'pass' };
        const calls = (state.calls ??= new Map<number, { id: string; name: string; arguments: string }>()) as Map<number, PolicyToolCall & { name: string; arguments: string }>;
        const c = calls.get(chunk.index) ?? { id: '', name: '', arguments: '' };
        calls.set(chunk.index, { id: chunk.id ?? c.id, name: c.name + (chunk.name ?? ''), arguments: c.arguments + chunk.arguments });
        return { action: 'hold' };
      }
      if (chunk.kind === 'end') {
        const calls = state.calls as Map<number, PolicyToolCall> | undefined;
        if (!calls?.size) return { action: 'pass' };
        const v = await askCalls(agent, [...calls.values()]);
        return v.allow ? { action: 'pass' } : { action: 'stop', reason: v.reason };
      }
      if (!on.has('reply')) return { action: 'pass' };
      if (!chunk.final) return { action: 'hold' };
      const v = await ask(agent, `Reply: ${chunk.text}`);
      return v.allow ? { action: 'pass' } : { action: 'stop', reason: v.reason };
    },
    async onResponse(res) {
      if (on.has('tool_calls') && res.toolCalls.length) {
        const v = await askCalls(res.agent, res.toolCalls);
        if (!v.allow) return { action: 'reject', reason: v.reason };
      }
      if (on.has('reply') && res.text) {
        const v = await ask(res.agent, `Reply: ${res.text}`);
        if (!v.allow) return { action: 'reject', reason: v.reason };
      }
      return { action: 'pass' };
    },
  };
};
