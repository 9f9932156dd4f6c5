// OpenAI chat caller → Anthropic provider, streamed: Messages events in, chat.completion.chunk SSE
// out: a role chunk, content deltas, tool_calls deltas (the first with index, id and name, then
// argument pieces), a finish_reason chunk, a usage chunk when the caller asked for it
// (stream_options.include_usage), and `data: [DONE]`. An Anthropic `error` event becomes an
// OpenAI-shaped in-stream error chunk, after which nothing more is sent (no [DONE], as OpenAI does).
import type { StreamTranslator } from '../types.js';
import { errorInputFromAnthropic } from './errors.js';
import { createSseReader, sseData, tryJson } from './sse.js';
import { chatFinishReason } from './stop-reasons.js';
import { chatUsageFromAnthropic } from './usage.js';
import { isObject, type AnthropicUsage, type Json } from './wire.js';

export interface AnthropicToChatStreamOptions {
  includeUsage: boolean;
  /** The model named in the chunks (default: message_start's) */
  model?: string;
  /** `created` of the chunks, in seconds (default: now) */
  created?: number;
}

export function createAnthropicToChatStream(opts: AnthropicToChatStreamOptions): StreamTranslator {
  let out = '';
  let started = false;
  let ended = false;
  let id = '';
  let model = opts.model ?? '';
  const created = opts.created ?? Math.floor(Date.now() / 1000);
  const toolIndex = new Map<number, number>(); // content block index → tool_calls[].index
  let stopReason: string | null = null;
  const usage: AnthropicUsage = {};
  let sawUsage = false;

  const chunk = (choices: Json[], extra: Json = {}) => {
    out += sseData({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
  };
  const delta = (d: Json) => chunk([{ index: 0, delta: d, finish_reason: null, logprobs: null }]);

  const mergeUsage = (u: unknown) => {
    if (!isObject(u)) return;
    sawUsage = true;
    for (const [k, v] of Object.entries(u)) if (v != null) (usage as Json)[k] = v;
  };

  const start = (message: Json) => {
    started = true;
    if (typeof message.id === 'string') id = message.id;
    if (!opts.model && typeof message.model === 'string') model = message.model;
    mergeUsage(message.usage);
    delta({ role: 'assistant', content: '' });
  };

  const finish = () => {
    chunk([{ index: 0, delta: {}, finish_reason: chatFinishReason(stopReason) ?? 'stop', logprobs: null }]);
    if (opts.includeUsage) chunk([], { usage: sawUsage ? chatUsageFromAnthropic(usage) : null });
    out += sseData('[DONE]');
    ended = true;
  };

  const fail = (status: number, body: unknown) => {
    const e = errorInputFromAnthropic(status, body);
    out += sseData({ error: { message: e.message, type: e.type, code: e.code, param: null } });
    ended = true;
  };

  const reader = createSseReader((sse) => {
    if (ended) return;
    const ev = tryJson(sse.data);
    if (!isObject(ev)) return;
    const type = ev.type ?? sse.event;
    if (type === 'error') return fail(500, ev);
    if (type === 'ping') return;
    if (!started) start(type === 'message_start' && isObject(ev.message) ? ev.message : {});
    switch (type) {
      case 'content_block_start': {
        const block = isObject(ev.content_block) ? ev.content_block : {};
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') delta({ content: block.text });
        else if (block.type === 'tool_use' && typeof ev.index === 'number') {
          const index = toolIndex.size;
          toolIndex.set(ev.index, index);
          delta({ tool_calls: [{ index, id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: '' } }] });
        }
        break;
      }
      case 'content_block_delta': {
        const d = isObject(ev.delta) ? ev.delta : {};
        if (d.type === 'text_delta' && typeof d.text === 'string' && d.text !== '') delta({ content: d.text });
        else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && d.partial_json !== '') {
          const index = typeof ev.index === 'number' ? toolIndex.get(ev.index) : undefined;
          if (index !== undefined) delta({ tool_calls: [{ index, function: { arguments: d.partial_json } }] });
        }
        break;
      }
      case 'message_delta': {
        const d = isObject(ev.delta) ? ev.delta : {};
        if (typeof d.stop_reason === 'string') stopReason = d.stop_reason;
        mergeUsage(ev.usage);
        break;
      }
      case 'message_stop':
        finish();
        break;
    }
  });

  return {
    push(bytes) {
      reader.push(bytes);
      const s = out;
      out = '';
      return s;
    },
    end() {
      reader.end();
      if (!ended) {
        fail(502, { error: { type: 'api_error', message: 'The provider’s stream ended before the reply was complete.' } });
      }
      const s = out;
      out = '';
      return s;
    },
  };
}
