// The official `@anthropic-ai/sdk` against POST /v1/messages (runs on the project's Node 20): plain,
// streamed (messages.stream().finalMessage()), a tool_use → tool_result round trip, countTokens.
// The base URL is the origin: the SDK appends /v1/messages itself. See lib.mjs for the environment.
import {
  expect,
  expectEcho,
  preview,
  runChecks,
  settings,
  TOOL_ARGS,
  TOOL_DESCRIPTION,
  TOOL_MARKER,
  TOOL_NAME,
  TOOL_PARAMETERS,
  TOOL_TRIGGER,
  toolResult,
} from './lib.mjs';
import Anthropic from '@anthropic-ai/sdk';

const cfg = settings();
const client = new Anthropic({
  apiKey: cfg.apiKey,
  baseURL: cfg.origin,
  defaultHeaders: cfg.headers,
  maxRetries: 0,
  timeout: cfg.checkTimeoutMs,
});
const model = cfg.anthropicModel;
const opts = ({ signal }) => ({ signal });
const tools = [{ name: TOOL_NAME, description: TOOL_DESCRIPTION, input_schema: TOOL_PARAMETERS }];

function textOf(message) {
  return message.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

const checks = [
  [
    'messages.create',
    async (ctx) => {
      const m = await client.messages.create(
        { model, max_tokens: 4096, system: 'caller system', messages: [{ role: 'user', content: 'hello from anthropic-sdk' }] },
        opts(ctx),
      );
      const text = textOf(m);
      expectEcho(text);
      expect(m.stop_reason === 'end_turn', `stop_reason ${m.stop_reason}, expected end_turn`);
      return { text, usage: m.usage };
    },
  ],
  [
    'messages.stream',
    async (ctx) => {
      const stream = client.messages.stream(
        { model, max_tokens: 4096, messages: [{ role: 'user', content: 'stream from anthropic-sdk' }] },
        opts(ctx),
      );
      let deltas = '';
      stream.on('text', (piece) => (deltas += piece));
      const m = await stream.finalMessage();
      const text = textOf(m);
      expectEcho(text);
      expect(deltas === text, 'the text deltas do not add up to the final message');
      return { text, usage: m.usage };
    },
  ],
  [
    'messages.tools',
    async (ctx) => {
      const messages = [{ role: 'user', content: TOOL_TRIGGER }];
      const first = await client.messages.create({ model, max_tokens: 4096, tools, messages }, opts(ctx));
      const use = first.content.find((block) => block.type === 'tool_use');
      expect(use, `no tool_use block: ${preview(first.content)}`);
      expect(first.stop_reason === 'tool_use', `stop_reason ${first.stop_reason}, expected tool_use`);
      expect(use.name === TOOL_NAME && use.input?.city === TOOL_ARGS.city, `unexpected tool_use ${preview(use)}`);
      const second = await client.messages.create(
        {
          model,
          max_tokens: 4096,
          tools,
          messages: [
            ...messages,
            { role: 'assistant', content: first.content },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: toolResult(use.input) }] },
          ],
        },
        opts(ctx),
      );
      const text = textOf(second);
      expectEcho(text, 'reply after the tool result');
      expect(text.includes(TOOL_MARKER), `the tool result is missing from the echo: ${preview(text)}`);
      return { text, toolUse: { name: use.name, input: use.input } };
    },
  ],
  [
    'messages.countTokens',
    async (ctx) => {
      const r = await client.messages.countTokens(
        { model, system: 'caller system', messages: [{ role: 'user', content: 'count me' }] },
        opts(ctx),
      );
      expect(Number.isInteger(r.input_tokens) && r.input_tokens > 0, `input_tokens ${preview(r)}`);
      return { input_tokens: r.input_tokens };
    },
  ],
];

process.exit(await runChecks('anthropic-sdk', cfg, checks));
