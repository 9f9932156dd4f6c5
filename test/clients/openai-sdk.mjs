// The official `openai` SDK in its default modes (runs on the project's Node 20): chat completions,
// Responses (plain, streamed, function-call round trips, previous_response_id, parse), embeddings,
// legacy completions and models. See lib.mjs for the environment and the output lines.
import {
  expect,
  expectEcho,
  OBJECT_TRIGGER,
  OBJECT_VALUE,
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
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';

const cfg = settings();
const client = new OpenAI({
  apiKey: cfg.apiKey,
  baseURL: cfg.v1,
  defaultHeaders: cfg.headers,
  // A retry would hide the first failure and stretch the run; every check wants the first answer.
  maxRetries: 0,
  timeout: cfg.checkTimeoutMs,
});
const model = cfg.model;
const opts = ({ signal }) => ({ signal });

const chatTools = [{ type: 'function', function: { name: TOOL_NAME, description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS } }];
const responsesTools = [{ type: 'function', name: TOOL_NAME, description: TOOL_DESCRIPTION, parameters: TOOL_PARAMETERS, strict: true }];

function expectToolArgs(name, rawArgs) {
  expect(name === TOOL_NAME, `expected a call to ${TOOL_NAME}, got ${preview(name)}`);
  const args = JSON.parse(rawArgs);
  expect(args.city === TOOL_ARGS.city, `unexpected tool arguments ${preview(rawArgs)}`);
  return args;
}

function expectToolEcho(text) {
  expectEcho(text, 'reply after the tool result');
  expect(text.includes(TOOL_MARKER), `the tool result is missing from the echo: ${preview(text)}`);
}

/** The function_call item of a Responses output (fails when there is none). */
function functionCall(response) {
  const call = response.output.find((item) => item.type === 'function_call');
  expect(call, `no function_call in the output: ${preview(response.output)}`);
  return call;
}

/** Text of a Responses object from its output items (the stream's final object has no output_text). */
function outputText(response) {
  return response.output
    .filter((item) => item.type === 'message')
    .flatMap((item) => item.content)
    .filter((part) => part.type === 'output_text')
    .map((part) => part.text)
    .join('');
}

async function embedding(input, encoding_format, ctx) {
  const body = { model: 'text-embedding-3-small', input };
  if (encoding_format) body.encoding_format = encoding_format;
  const r = await client.embeddings.create(body, opts(ctx));
  expect(r.data.length === 1, `expected one embedding, got ${r.data.length}`);
  return r.data[0].embedding;
}

function sameVector(a, b) {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6);
}

const checks = [
  [
    'chat.completions',
    async (ctx) => {
      const r = await client.chat.completions.create(
        { model, messages: [{ role: 'system', content: 'caller system' }, { role: 'user', content: 'hello from openai-sdk' }] },
        opts(ctx),
      );
      const text = r.choices[0]?.message?.content;
      expectEcho(text);
      return { text, usage: r.usage };
    },
  ],
  [
    'chat.completions.stream',
    async (ctx) => {
      const stream = await client.chat.completions.create(
        { model, messages: [{ role: 'user', content: 'stream from openai-sdk' }], stream: true, stream_options: { include_usage: true } },
        opts(ctx),
      );
      let text = '';
      let usage = null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expectEcho(text);
      expect(usage, 'no usage chunk although stream_options.include_usage was set');
      return { text, chunks, usage };
    },
  ],
  [
    'chat.completions.tools',
    async (ctx) => {
      const messages = [{ role: 'user', content: TOOL_TRIGGER }];
      const r1 = await client.chat.completions.create({ model, messages, tools: chatTools }, opts(ctx));
      const choice = r1.choices[0];
      const call = choice?.message?.tool_calls?.[0];
      expect(call, `no tool call in the first reply: ${preview(choice)}`);
      expect(choice.finish_reason === 'tool_calls', `finish_reason ${choice.finish_reason}, expected tool_calls`);
      const args = expectToolArgs(call.function.name, call.function.arguments);
      const r2 = await client.chat.completions.create(
        { model, tools: chatTools, messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: toolResult(args) }] },
        opts(ctx),
      );
      const text = r2.choices[0]?.message?.content;
      expectToolEcho(text);
      return { text, toolCall: { name: call.function.name, arguments: call.function.arguments } };
    },
  ],
  [
    'chat.completions.tools.stream',
    async (ctx) => {
      // The SDK's stream helper reassembles tool-call deltas into a completion, like an agent loop does.
      const messages = [{ role: 'user', content: TOOL_TRIGGER }];
      const first = await client.chat.completions.stream({ model, messages, tools: chatTools }, opts(ctx)).finalChatCompletion();
      const call = first.choices[0]?.message?.tool_calls?.[0];
      expect(call, `no tool call in the streamed reply: ${preview(first.choices[0])}`);
      const args = expectToolArgs(call.function.name, call.function.arguments);
      const second = await client.chat.completions
        .stream(
          { model, tools: chatTools, messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: toolResult(args) }] },
          opts(ctx),
        )
        .finalChatCompletion();
      const text = second.choices[0]?.message?.content;
      expectToolEcho(text);
      return { text };
    },
  ],
  [
    'responses.create',
    async (ctx) => {
      const r = await client.responses.create({ model, instructions: 'caller instructions', input: 'hello from responses' }, opts(ctx));
      expect(r.status === 'completed', `status ${r.status}`);
      expectEcho(r.output_text);
      return { text: r.output_text, id: r.id, usage: r.usage };
    },
  ],
  [
    'responses.stream',
    async (ctx) => {
      const stream = await client.responses.create({ model, input: 'stream from responses', stream: true }, opts(ctx));
      let text = '';
      let completed = null;
      const types = new Set();
      for await (const event of stream) {
        types.add(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      expect(completed, `no response.completed event; saw ${[...types].join(', ')}`);
      expectEcho(text);
      expect(outputText(completed) === text, 'the deltas do not add up to the completed response text');
      return { text, usage: completed.usage, events: [...types] };
    },
  ],
  [
    'responses.tools',
    async (ctx) => {
      // The documented round trip: the tool output goes back with previous_response_id.
      const r1 = await client.responses.create({ model, input: TOOL_TRIGGER, tools: responsesTools }, opts(ctx));
      const call = functionCall(r1);
      const args = expectToolArgs(call.name, call.arguments);
      const r2 = await client.responses.create(
        {
          model,
          previous_response_id: r1.id,
          tools: responsesTools,
          input: [{ type: 'function_call_output', call_id: call.call_id, output: toolResult(args) }],
        },
        opts(ctx),
      );
      expectToolEcho(r2.output_text);
      return { text: r2.output_text, toolCall: { name: call.name, arguments: call.arguments } };
    },
  ],
  [
    'responses.tools.stateless',
    async (ctx) => {
      // The stateless round trip (store: false): the whole conversation goes back as input items.
      const input = [{ role: 'user', content: TOOL_TRIGGER }];
      const r1 = await client.responses.create({ model, input, tools: responsesTools, store: false }, opts(ctx));
      const call = functionCall(r1);
      const args = expectToolArgs(call.name, call.arguments);
      const r2 = await client.responses.create(
        {
          model,
          store: false,
          tools: responsesTools,
          input: [...input, ...r1.output, { type: 'function_call_output', call_id: call.call_id, output: toolResult(args) }],
        },
        opts(ctx),
      );
      expectToolEcho(r2.output_text);
      return { text: r2.output_text };
    },
  ],
  [
    'responses.previous_response_id',
    async (ctx) => {
      const r1 = await client.responses.create({ model, instructions: 'caller instructions', input: 'first turn' }, opts(ctx));
      const r2 = await client.responses.create({ model, previous_response_id: r1.id, input: 'second turn' }, opts(ctx));
      expectEcho(r2.output_text);
      expect(r2.output_text.includes('second turn'), `the second turn is missing from the echo: ${preview(r2.output_text)}`);
      return { text: r2.output_text, first: r1.id, second: r2.id };
    },
  ],
  [
    'responses.parse',
    async (ctx) => {
      const Weather = z.object({ city: z.string(), temp_c: z.number() });
      const r = await client.responses.parse({ model, input: OBJECT_TRIGGER, text: { format: zodTextFormat(Weather, 'weather') } }, opts(ctx));
      expect(r.output_parsed, `nothing parsed from ${preview(r.output_text)}`);
      expect(JSON.stringify(r.output_parsed) === JSON.stringify(OBJECT_VALUE), `parsed ${preview(r.output_parsed)}`);
      return { text: r.output_text, parsed: r.output_parsed };
    },
  ],
  [
    'embeddings.float',
    async (ctx) => {
      const v = await embedding('embed me', 'float', ctx);
      expect(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number'), `not a float vector: ${preview(v)}`);
      return { dims: v.length, head: v.slice(0, 3) };
    },
  ],
  [
    'embeddings.base64',
    async (ctx) => {
      const raw = await embedding('embed me', 'base64', ctx);
      expect(typeof raw === 'string', `base64 embedding is not a string: ${preview(raw)}`);
      const bytes = Buffer.from(raw, 'base64');
      const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
      // The SDK's default (no encoding_format) asks for base64 and decodes it itself.
      const byDefault = await embedding('embed me', undefined, ctx);
      const float = await embedding('embed me', 'float', ctx);
      expect(sameVector(decoded, float), 'base64 decodes to a different vector than float');
      expect(sameVector(byDefault, float), "the SDK's default encoding decodes to a different vector than float");
      return { dims: decoded.length, head: decoded.slice(0, 3) };
    },
  ],
  [
    'completions',
    async (ctx) => {
      const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'complete me' }, opts(ctx));
      const text = r.choices[0]?.text;
      expectEcho(text);
      return { text, usage: r.usage };
    },
  ],
  [
    'completions.stream',
    async (ctx) => {
      const stream = await client.completions.create(
        { model: 'gpt-3.5-turbo-instruct', prompt: 'complete me streamed', stream: true, stream_options: { include_usage: true } },
        opts(ctx),
      );
      let text = '';
      let usage = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expectEcho(text);
      return { text, usage };
    },
  ],
  [
    'models.retrieve',
    async (ctx) => {
      const m = await client.models.retrieve(model, opts(ctx));
      expect(m.id === model && m.object === 'model', `unexpected model ${preview(m)}`);
      return { id: m.id, owned_by: m.owned_by };
    },
  ],
  [
    'models.list',
    async (ctx) => {
      const ids = [];
      for await (const m of client.models.list(opts(ctx))) ids.push(m.id);
      expect(ids.includes(model), `${model} not in ${preview(ids)}`);
      return { ids };
    },
  ],
];

process.exit(await runChecks('openai-sdk', cfg, checks));
