// The official SDKs across kinds through `ibex serve` (issue 13): `@anthropic-ai/sdk` against an
// Anthropic upstream (passthrough: the directive first in `system`, the rest of the body unchanged)
// and against an OpenAI upstream (translation); the `openai` SDK's chat (plain; a stream of two tool
// calls reassembled by the SDK) and Responses (plain, stream) against an Anthropic upstream. And the
// affinity of stateful continuations: `previous_response_id` reaches the provider and key that
// created the response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../../src/mock/server.js';
import { provision, type TestGateway } from '../helpers/gateway.js';
import { startYamlGateway } from '../helpers/providers.js';

const DIRECTIVE = 'You are the cross-provider directive.';
const K_OAI = 'sk-oai-0123456789abcdef';
const K_CLAUDE = 'sk-ant-claude-0123456789abcdef';
const K_POOL_A = 'sk-pool-aaaa-0123456789';
const K_POOL_B = 'sk-pool-bbbb-0123456789';

const WEATHER = { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const TIME = { name: 'get_time', description: 'Time in a zone', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } };

/** What the mock echoed: Anthropic `{system, messages}`, or OpenAI chat's `messages`. */
function echo(text: string): unknown {
  expect(text.startsWith('echo:'), `not an echo: ${text.slice(0, 120)}`).toBe(true);
  return JSON.parse(text.slice(5));
}

function textOf(m: Anthropic.Message): string {
  return m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

function messagesCalls(mock: MockUpstream): RecordedRequest[] {
  return mock.stats.recent.filter((r) => r.method === 'POST');
}

describe('SDKs across provider kinds, and continuations pinned to their provider', () => {
  let oai: MockUpstream;
  let claude: MockUpstream;
  let p1: MockUpstream;
  let pool: MockUpstream;
  let gw: TestGateway;
  let token: string;
  let anthropic: Anthropic;
  let openai: OpenAI;

  beforeAll(async () => {
    oai = await startMockUpstream({ apiKeys: [K_OAI] });
    claude = await startMockUpstream({ protocol: 'anthropic', apiKeys: [K_CLAUDE] });
    p1 = await startMockUpstream();
    pool = await startMockUpstream();
    const yaml = `
providers:
  oai:    { kind: openai, baseUrl: "${oai.url}", keys: ["\${K_OAI}"] }
  claude: { kind: anthropic, baseUrl: "${claude.url}", keys: ["\${K_CLAUDE}"] }
  p1:     { kind: openai, baseUrl: "${p1.url}", maxTokensField: max_tokens }
  pool:   { kind: openai, baseUrl: "${pool.url}", keys: ["\${K_POOL_A}", "\${K_POOL_B}"], keyStrategy: round_robin }
models:
  sonnet: claude/claude-sonnet-4-5
  mini: oai/gpt-4o-mini
  resp: [p1/gpt-4o-mini, oai/gpt-4o-mini]
  pooled: pool/gpt-4o-mini
  cross: [claude/claude-sonnet-4-5, oai/gpt-4o-mini]
  cross2: [oai/gpt-4o-mini, claude/claude-haiku-4-5]
retries: { perTarget: 0 }
`;
    gw = await startYamlGateway(yaml, { K_OAI, K_CLAUDE, K_POOL_A, K_POOL_B });
    ({ token } = await provision(gw, 'xprov', { directive: DIRECTIVE }));
    anthropic = new Anthropic({ apiKey: token, baseURL: gw.url, maxRetries: 0, timeout: 20_000 });
    openai = new OpenAI({ apiKey: token, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([oai?.close(), claude?.close(), p1?.close(), pool?.close()]);
  });

  describe('@anthropic-ai/sdk → Anthropic upstream (passthrough)', () => {
    it('messages.create: the directive first in system, the rest of the body as sent', async () => {
      const sent = {
        model: 'sonnet',
        max_tokens: 300,
        temperature: 0.25,
        system: 'caller system',
        metadata: { user_id: 'u-1' },
        messages: [{ role: 'user' as const, content: 'hello from anthropic-sdk' }],
      };
      const { data, response } = await anthropic.messages.create(sent).withResponse();
      expect(response.headers.get('x-ibex-provider')).toBe('claude');
      expect(response.headers.get('x-ibex-served-model')).toBe('claude-sonnet-4-5');
      expect(data.stop_reason).toBe('end_turn');
      const got = claude.stats.lastRequest!;
      expect(got.path).toBe('/v1/messages');
      expect(got.headers['x-api-key'] ?? got.headers.authorization).toMatch(new RegExp(K_CLAUDE));
      expect(JSON.stringify(got.headers)).not.toContain(token);
      const { system, ...rest } = got.body as Record<string, unknown>;
      expect(system).toEqual([
        { type: 'text', text: DIRECTIVE },
        { type: 'text', text: 'caller system' },
      ]);
      const { system: _s, ...sentRest } = sent;
      expect(rest).toEqual({ ...sentRest, model: 'claude-sonnet-4-5' });
      expect((echo(textOf(data)) as { system: { text: string }[] }).system[0]!.text).toBe(DIRECTIVE);
    });

    it('the caller\'s anthropic-beta flags reach Anthropic (messages, stream, count_tokens); never a provider it is translated for', async () => {
      const betas = 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14';
      const opts = { headers: { 'anthropic-beta': betas } };
      await anthropic.messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'beta me' }] }, opts);
      expect(claude.stats.lastRequest!.headers['anthropic-beta']).toBe(betas);
      await anthropic.messages.stream({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'beta stream' }] }, opts).finalMessage();
      expect(claude.stats.lastRequest!.headers['anthropic-beta']).toBe(betas);
      const { response } = await anthropic.messages.countTokens({ model: 'sonnet', messages: [{ role: 'user', content: 'count me' }] }, opts).withResponse();
      expect(response.headers.get('x-ibex-token-count')).toBe('provider');
      expect(claude.stats.lastRequest!.path).toBe('/v1/messages/count_tokens');
      expect(claude.stats.lastRequest!.headers['anthropic-beta']).toBe(betas);
      // translated for an OpenAI provider: the flags mean nothing there and are not sent
      await anthropic.messages.create({ model: 'mini', max_tokens: 50, messages: [{ role: 'user', content: 'beta translated' }] }, opts);
      expect(oai.stats.lastRequest!.headers['anthropic-beta']).toBeUndefined();
      // without flags, none is sent
      await anthropic.messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'no beta' }] });
      expect(claude.stats.lastRequest!.headers['anthropic-beta']).toBeUndefined();
    });

    it('messages.stream: deltas add up to the final message', async () => {
      const stream = anthropic.messages.stream({ model: 'sonnet', max_tokens: 4096, messages: [{ role: 'user', content: 'stream please' }] });
      let deltas = '';
      stream.on('text', (t) => (deltas += t));
      const m = await stream.finalMessage();
      expect(textOf(m)).toBe(deltas);
      expect((echo(textOf(m)) as { system: { text: string }[] }).system[0]!.text).toBe(DIRECTIVE);
      expect(claude.stats.lastRequest!.body!.stream).toBe(true);
    });

    it('tools: tool_use then a tool_result round trip', async () => {
      const tools = [{ name: WEATHER.name, description: WEATHER.description, input_schema: WEATHER.parameters as Anthropic.Tool.InputSchema }];
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'call:get_weather {"city":"Paris"}' }];
      const first = await anthropic.messages.create({ model: 'sonnet', max_tokens: 4096, tools, messages });
      const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      expect(first.stop_reason).toBe('tool_use');
      expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
      const second = await anthropic.messages.create({
        model: 'sonnet',
        max_tokens: 4096,
        tools,
        messages: [...messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'sunny-21C' }] }],
      });
      expect(textOf(second)).toContain('sunny-21C');
    });
  });

  describe('@anthropic-ai/sdk → OpenAI upstream (translation)', () => {
    it('messages.create: translated to chat with the directive as the first system message', async () => {
      const { data, response } = await anthropic.messages
        .create({ model: 'mini', max_tokens: 300, system: 'caller system', messages: [{ role: 'user', content: 'hello translated' }] })
        .withResponse();
      expect(response.headers.get('x-ibex-provider')).toBe('oai');
      expect(response.headers.get('x-ibex-served-model')).toBe('gpt-4o-mini');
      expect(data.type).toBe('message');
      expect(data.role).toBe('assistant');
      expect(data.stop_reason).toBe('end_turn');
      const got = oai.stats.lastRequest!;
      expect(got.path).toBe('/v1/chat/completions');
      expect(got.headers.authorization).toBe(`Bearer ${K_OAI}`);
      const msgs = echo(textOf(data)) as { role: string; content: string }[];
      expect(msgs[0]).toMatchObject({ role: 'system' });
      expect(JSON.stringify(msgs[0])).toContain(DIRECTIVE);
      expect(JSON.stringify(msgs)).toContain('caller system');
      expect(msgs[msgs.length - 1]).toMatchObject({ role: 'user' });
      expect(data.usage.input_tokens).toBeGreaterThan(0);
    });

    it('messages.stream: the translated stream reassembles', async () => {
      const stream = anthropic.messages.stream({ model: 'mini', max_tokens: 4096, messages: [{ role: 'user', content: 'stream translated' }] });
      let deltas = '';
      stream.on('text', (t) => (deltas += t));
      const m = await stream.finalMessage();
      expect(textOf(m)).toBe(deltas);
      expect(JSON.stringify((echo(textOf(m)) as unknown[])[0])).toContain(DIRECTIVE);
      expect(m.stop_reason).toBe('end_turn');
    });

    it('tools: an OpenAI tool call becomes tool_use (plain and streamed)', async () => {
      const tools = [{ name: WEATHER.name, description: WEATHER.description, input_schema: WEATHER.parameters as Anthropic.Tool.InputSchema }];
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'call:get_weather {"city":"Paris"}' }];
      const first = await anthropic.messages.create({ model: 'mini', max_tokens: 4096, tools, messages });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
      const streamed = await anthropic.messages.stream({ model: 'mini', max_tokens: 4096, tools, messages }).finalMessage();
      expect(streamed.stop_reason).toBe('tool_use');
      expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    });
  });

  describe('openai SDK → Anthropic upstream (translation)', () => {
    it('chat.completions.create: the directive first in system', async () => {
      const { data, response } = await openai.chat.completions
        .create({ model: 'sonnet', messages: [{ role: 'system', content: 'caller system' }, { role: 'user', content: 'hi claude' }] })
        .withResponse();
      expect(response.headers.get('x-ibex-provider')).toBe('claude');
      expect(data.object).toBe('chat.completion');
      expect(data.choices[0]!.finish_reason).toBe('stop');
      const got = claude.stats.lastRequest!;
      expect(got.path).toBe('/v1/messages');
      expect(got.body!.model).toBe('claude-sonnet-4-5');
      expect(typeof got.body!.max_tokens).toBe('number');
      const e = echo(data.choices[0]!.message.content!) as { system: { text: string }[] };
      expect(e.system[0]!.text).toBe(DIRECTIVE);
      expect(JSON.stringify(e.system)).toContain('caller system');
      expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    });

    it('chat.completions.stream: two streamed tool calls reassembled by the SDK', async () => {
      const stream = openai.chat.completions.stream({
        model: 'sonnet',
        tools: [
          { type: 'function', function: WEATHER },
          { type: 'function', function: TIME },
        ],
        messages: [{ role: 'user', content: 'call:get_weather {"city":"Paris"}\ncall:get_time {"tz":"UTC"}' }],
      });
      const done = await stream.finalChatCompletion();
      const choice = done.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      const calls = choice.message.tool_calls!.map((c) => (c.type === 'function' ? { name: c.function.name, args: JSON.parse(c.function.arguments), id: c.id } : null));
      expect(calls.map((c) => [c!.name, c!.args])).toEqual([
        ['get_weather', { city: 'Paris' }],
        ['get_time', { tz: 'UTC' }],
      ]);
      expect(new Set(calls.map((c) => c!.id)).size).toBe(2);
      expect(claude.stats.lastRequest!.body!.stream).toBe(true);
    });

    it('chat.completions streamed text: deltas then [DONE]', async () => {
      const stream = await openai.chat.completions.create({ model: 'sonnet', stream: true, messages: [{ role: 'user', content: 'stream to claude' }] });
      let text = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect((echo(text) as { system: { text: string }[] }).system[0]!.text).toBe(DIRECTIVE);
      expect(finish).toBe('stop');
    });

    it('responses.create and responses.stream: translated, the directive first', async () => {
      const r = await openai.responses.create({ model: 'sonnet', instructions: 'caller instructions', input: 'hello responses' });
      expect(r.status).toBe('completed');
      // Responses places the directive at the start of `instructions`, the caller's after it.
      const e = echo(r.output_text) as { system: { text: string }[] };
      expect(e.system[0]!.text.startsWith(DIRECTIVE)).toBe(true);
      expect(JSON.stringify(e.system).indexOf('caller instructions')).toBeGreaterThan(JSON.stringify(e.system).indexOf(DIRECTIVE));
      expect(claude.stats.lastRequest!.path).toBe('/v1/messages');

      const stream = openai.responses.stream({ model: 'sonnet', input: 'stream responses' });
      let deltas = '';
      stream.on('response.output_text.delta', (ev) => (deltas += ev.delta));
      const final = await stream.finalResponse();
      expect(final.output_text).toBe(deltas);
      expect((echo(final.output_text) as { system: { text: string }[] }).system[0]!.text).toBe(DIRECTIVE);
    });

    it('structured outputs reach the other API: chat response_format and Responses text.format as output_config, Messages output_config as response_format', async () => {
      const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
      await openai.chat.completions.create({
        model: 'sonnet',
        messages: [{ role: 'user', content: 'structured chat' }],
        response_format: { type: 'json_schema', json_schema: { name: 'place', schema, strict: true } },
      });
      expect(claude.stats.lastRequest!.body!.output_config).toEqual({ format: { type: 'json_schema', schema } });
      await openai.responses.create({ model: 'sonnet', input: 'structured responses', text: { format: { type: 'json_schema', name: 'place', schema, strict: true } } });
      expect(claude.stats.lastRequest!.body!.output_config).toEqual({ format: { type: 'json_schema', schema } });
      await anthropic.messages.create({ model: 'mini', max_tokens: 50, messages: [{ role: 'user', content: 'structured messages' }], output_config: { format: { type: 'json_schema', schema } } });
      expect(oai.stats.lastRequest!.body!.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
      // OpenAI's reasoning models refuse max_tokens: the Messages caller's limit goes as max_completion_tokens
      expect(oai.stats.lastRequest!.body!.max_completion_tokens).toBe(50);
      expect(oai.stats.lastRequest!.body).not.toHaveProperty('max_tokens');
      // ...unless the provider says it reads only the older field (maxTokensField: max_tokens)
      await anthropic.messages.create({ model: 'p1/gpt-4o-mini', max_tokens: 60, messages: [{ role: 'user', content: 'older field' }] });
      expect(p1.stats.lastRequest!.body!.max_tokens).toBe(60);
      expect(p1.stats.lastRequest!.body).not.toHaveProperty('max_completion_tokens');
    });

    it('previous_response_id continues a translated conversation: ibex sends the earlier turns (tool round trip, streamed too)', async () => {
      const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: WEATHER.name, description: WEATHER.description, parameters: WEATHER.parameters, strict: false }];
      const first = await openai.responses.create({ model: 'sonnet', input: 'call:get_weather {"city":"Paris"}', tools });
      const call = first.output.find((i): i is OpenAI.Responses.ResponseFunctionToolCall => i.type === 'function_call');
      expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
      const second = await openai.responses.create({
        model: 'sonnet',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call!.call_id, output: 'sunny-21C' }],
        tools,
      });
      expect(second.output_text).toContain('sunny-21C');
      // what Claude got: the first turn (user, tool_use), then the result
      const sent = claude.stats.lastRequest!.body!.messages as { role: string; content: unknown }[];
      expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(JSON.stringify(sent[1]!.content)).toContain('"type":"tool_use"');
      expect(JSON.stringify(sent[2]!.content)).toContain('"tool_result"');
      // a third turn, streamed, continues the second: all three turns go
      const stream = openai.responses.stream({ model: 'sonnet', previous_response_id: second.id, input: 'and tomorrow?' });
      const third = await stream.finalResponse();
      expect(third.status).toBe('completed');
      expect((claude.stats.lastRequest!.body!.messages as unknown[]).length).toBe(5);
      // and a fourth continues the streamed one
      await openai.responses.create({ model: 'sonnet', previous_response_id: third.id, input: 'thanks' });
      expect((claude.stats.lastRequest!.body!.messages as unknown[]).length).toBe(7);
      // continued on a model OpenAI serves as it is (a fallback, or a model moved): the turns go by value
      const native = await openai.responses.create({ model: 'mini', previous_response_id: third.id, input: 'over to OpenAI' });
      expect(native.status).toBe('completed');
      const got = oai.stats.lastRequest!.body!;
      expect(got).not.toHaveProperty('previous_response_id');
      // turns 1–3 (user, function_call, function_call_output, text, user, text), then this input
      expect((got.input as { type?: string }[]).map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_output', 'message', 'message', 'message', 'message']);
      // and that native response continues natively
      await openai.responses.create({ model: 'mini', previous_response_id: native.id, input: 'still there?' });
      expect(oai.stats.lastRequest!.body!.previous_response_id).toBe(native.id);
      // what is kept shows on /metrics
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(Number(/^ibex_translated_turns_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      // a turn stored with store: false cannot be continued (as at OpenAI)
      const unstored = await openai.responses.create({ model: 'sonnet', input: 'forget me', store: false });
      const err = await openai.responses.create({ model: 'sonnet', input: 'again', previous_response_id: unstored.id }).catch((e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
    });

    it("another agent cannot continue an agent's response, translated or not, even naming a session of its own", async () => {
      const other = await provision(gw, 'xprov-other');
      const intruder = new OpenAI({ apiKey: other.token, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 20_000 });
      for (const model of ['sonnet', 'mini']) {
        const mine = await openai.responses.create({ model, input: `the secret of xprov is 4242 (${model})` });
        const before = { claude: claude.stats.requests, oai: oai.stats.requests };
        for (const headers of [{}, { 'X-Ibex-Session': `intruder-${model}` }]) {
          const err = await intruder.responses.create({ model, input: 'what was the secret?', previous_response_id: mine.id }, { headers }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
          expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('agent_forbidden');
        }
        // nothing was sent upstream for them
        expect({ claude: claude.stats.requests, oai: oai.stats.requests }).toEqual(before);
      }
      // a conversation: its turns share a session, and it is the agent's that used it first
      const turn = async (client: OpenAI) =>
        client.responses.create({ model: 'mini', input: 'in the conversation', conversation: 'conv_xprov_1' }).withResponse();
      const [t1, t2] = [await turn(openai), await turn(openai)];
      expect(t2.response.headers.get('x-ibex-session')).toBe(t1.response.headers.get('x-ibex-session'));
      expect(await turn(intruder).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);
      // nor can it read, list the input of, cancel or delete the stored one
      const stored = await openai.responses.create({ model: 'mini', input: 'stored secret of xprov' });
      const reads = [
        () => intruder.responses.retrieve(stored.id),
        () => intruder.responses.inputItems.list(stored.id),
        () => intruder.responses.cancel(stored.id),
        () => intruder.responses.delete(stored.id),
      ];
      for (const read of reads) expect(await read().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((await openai.responses.retrieve(stored.id)).id).toBe(stored.id);
    });

    it('a continuation of stored state is refused with a 400 naming the parameter, not sent', async () => {
      const before = claude.stats.requests;
      const err = await openai.responses.create({ model: 'sonnet', input: 'again', previous_response_id: 'resp_unknown' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
      expect(claude.stats.requests).toBe(before);
    });
  });

  describe('fallback across kinds under faults', () => {
    it('Anthropic SDK: a failing Anthropic target (529, streamed too) falls back to an OpenAI one, translated', async () => {
      claude.configure({ failRate: 1, failStatus: 529 });
      try {
        const { data, response } = await anthropic.messages
          .create({ model: 'cross', max_tokens: 200, messages: [{ role: 'user', content: 'fall over' }] })
          .withResponse();
        expect([response.headers.get('x-ibex-provider'), response.headers.get('x-ibex-served-model')]).toEqual(['oai', 'gpt-4o-mini']);
        expect(JSON.stringify((echo(textOf(data)) as unknown[])[0])).toContain(DIRECTIVE);
        const streamed = await anthropic.messages.stream({ model: 'cross', max_tokens: 200, messages: [{ role: 'user', content: 'fall over streamed' }] }).finalMessage();
        expect(textOf(streamed)).toContain('fall over streamed');
        expect(streamed.stop_reason).toBe('end_turn');
      } finally {
        claude.configure({ failRate: 0 });
      }
    });

    it('openai SDK: a failing (500) OpenAI target falls back to Anthropic, translated; a 400 does not', async () => {
      oai.configure({ failRate: 1, failStatus: 500 });
      try {
        const { data, response } = await openai.chat.completions
          .create({ model: 'cross2', messages: [{ role: 'user', content: 'to claude please' }] })
          .withResponse();
        expect([response.headers.get('x-ibex-provider'), response.headers.get('x-ibex-served-model')]).toEqual(['claude', 'claude-haiku-4-5']);
        expect((echo(data.choices[0]!.message.content!) as { system: { text: string }[] }).system[0]!.text).toBe(DIRECTIVE);
        oai.configure({ failRate: 1, failStatus: 400 });
        const before = claude.stats.requests;
        const err = await openai.chat.completions.create({ model: 'cross2', messages: [{ role: 'user', content: 'bad' }] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        expect(claude.stats.requests).toBe(before);
      } finally {
        oai.configure({ failRate: 0 });
      }
    });
  });

  describe('feature-flag headers', () => {
    it('OpenAI-Beta reaches an OpenAI provider (Responses, chat), not one the request is translated for', async () => {
      const opts = { headers: { 'OpenAI-Beta': 'responses=experimental' } };
      await openai.responses.create({ model: 'mini', input: 'flagged' }, opts);
      expect(oai.stats.lastRequest!.path).toBe('/v1/responses');
      expect(oai.stats.lastRequest!.headers['openai-beta']).toBe('responses=experimental');
      await openai.chat.completions.create({ model: 'mini', messages: [{ role: 'user', content: 'flagged chat' }] }, opts);
      expect(oai.stats.lastRequest!.headers['openai-beta']).toBe('responses=experimental');
      await openai.responses.create({ model: 'sonnet', input: 'flagged, translated' }, opts);
      expect(claude.stats.lastRequest!.headers['openai-beta']).toBeUndefined();
      // the caller's OpenAI organisation and project are its own account's: never sent
      await openai.chat.completions.create({ model: 'mini', messages: [{ role: 'user', content: 'org' }] }, { headers: { 'OpenAI-Organization': 'org-caller', 'OpenAI-Project': 'proj-caller' } });
      expect(oai.stats.lastRequest!.headers['openai-organization']).toBeUndefined();
      expect(oai.stats.lastRequest!.headers['openai-project']).toBeUndefined();
    });
  });

  describe('stateful continuations keep their provider and key', () => {
    it('previous_response_id goes to the provider that created the response, not the chain\'s first', async () => {
      p1.configure({ failRate: 1, failStatus: 500 });
      const { data: first, response } = await openai.responses.create({ model: 'resp', input: 'turn one' }).withResponse();
      expect(response.headers.get('x-ibex-provider')).toBe('oai');
      p1.configure({ failRate: 0 });
      const p1Before = messagesCalls(p1).length;
      const { data: second, response: r2 } = await openai.responses
        .create({ model: 'resp', input: 'turn two', previous_response_id: first.id })
        .withResponse();
      expect(r2.headers.get('x-ibex-provider')).toBe('oai');
      expect(second.previous_response_id).toBe(first.id);
      expect(messagesCalls(p1).length).toBe(p1Before);
      // The chain is back to normal for a request that continues nothing.
      const { response: r3 } = await openai.responses.create({ model: 'resp', input: 'fresh' }).withResponse();
      expect(r3.headers.get('x-ibex-provider')).toBe('p1');
    });

    it('…and with the key that created it, while round robin would move on', async () => {
      const keyOf = (r: RecordedRequest) => (String(r.headers.authorization) === `Bearer ${K_POOL_A}` ? 'a' : 'b');
      const first = await openai.responses.create({ model: 'pooled', input: 'keyed turn one' });
      const created = pool.stats.recent.filter((r) => r.method === 'POST').at(-1)!;
      const key = keyOf(created);
      let previous = first.id;
      const used: string[] = [];
      for (let i = 0; i < 3; i++) {
        const next = await openai.responses.create({ model: 'pooled', input: `keyed turn ${i + 2}`, previous_response_id: previous });
        used.push(keyOf(pool.stats.lastRequest!));
        previous = next.id;
      }
      expect(used).toEqual([key, key, key]);
      // Without a continuation the pool still rotates.
      const rotating: string[] = [];
      for (let i = 0; i < 2; i++) {
        await openai.responses.create({ model: 'pooled', input: `unkeyed ${i}` });
        rotating.push(keyOf(pool.stats.lastRequest!));
      }
      expect(new Set(rotating).size).toBe(2);
    });

    it('retrieve, input_items, cancel and delete of a stored response go to its provider and key, not the first provider', async () => {
      const keyOf = (r: RecordedRequest) => (String(r.headers.authorization) === `Bearer ${K_POOL_A}` ? 'a' : 'b');
      const created = await openai.responses.create({ model: 'pooled', input: 'stored on the pool' });
      const key = keyOf(pool.stats.lastRequest!);
      const oaiBefore = oai.stats.recent.length;
      const got = await openai.responses.retrieve(created.id);
      expect(got.id).toBe(created.id);
      expect(pool.stats.lastRequest!.path).toBe(`/v1/responses/${created.id}`);
      const items = await openai.responses.inputItems.list(created.id);
      expect(items.data.length).toBeGreaterThan(0);
      await openai.responses.delete(created.id);
      const calls = pool.stats.recent.slice(-3);
      expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /v1/responses/${created.id}`,
        `GET /v1/responses/${created.id}/input_items`,
        `DELETE /v1/responses/${created.id}`,
      ]);
      // with the key that created it, every time (round robin would alternate)
      expect(calls.map(keyOf)).toEqual([key, key, key]);
      expect(oai.stats.recent.length).toBe(oaiBefore); // the first provider was not asked
      // an id nobody here created still goes to the first provider, which answers for itself
      const unknown = await openai.responses.retrieve('resp_nobody_made_this').catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
      expect(oai.stats.lastRequest!.path).toBe('/v1/responses/resp_nobody_made_this');
    });

    it('the checkpoints of the session record the serving provider and model', async () => {
      const first = await openai.responses.create({ model: 'resp', input: 'recorded turn' }, { headers: {} });
      const { response } = await openai.responses.create({ model: 'resp', input: 'recorded turn 2', previous_response_id: first.id }).withResponse();
      const session = response.headers.get('x-ibex-session')!;
      let checkpoints: { provider: string | null; servedModel: string | null; model: string; attempts: unknown[] }[] = [];
      for (let i = 0; i < 40 && checkpoints.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const r = await gw.cli(['sessions', 'show', session, '--json'], { reject: false });
        if (r.exitCode === 0) checkpoints = (JSON.parse(r.stdout) as { checkpoints: typeof checkpoints }).checkpoints;
      }
      expect(checkpoints).toHaveLength(2);
      for (const c of checkpoints) expect(c).toMatchObject({ model: 'resp', provider: 'p1', servedModel: 'gpt-4o-mini' });
      for (const c of checkpoints) expect(c.attempts).toBeUndefined(); // the first target served
    });
  });
});
