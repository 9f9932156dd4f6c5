// Anthropic caller → OpenAI-compatible provider, streamed: chat.completion.chunk SSE in, Messages
// events out (message_start, content_block_start/delta/stop, message_delta, message_stop).
//
// Blocks open one at a time, as Anthropic sends them: text is one block, each tool call
// (tool_calls[i].index) its own block, and a new block closes the one before. A provider that
// interleaves the argument deltas of several calls still gets each delta into the right block
// (by its index), even after that block was closed. Usage arrives after the finish chunk in OpenAI
// streams (stream_options.include_usage), so message_delta is sent at [DONE], or at the end of the
// upstream when a provider omits [DONE] after a finish_reason.
import type { StreamTranslator } from '../types.js';
import { anthropicTypeFromOpenAI } from './errors.js';
import { createSseReader, sseEvent, tryJson } from './sse.js';
import { anthropicStopReason } from './stop-reasons.js';
import { anthropicUsageFromChat } from './usage.js';
import { isObject, type ChatChunk, type ChatToolCall, type ChatUsage } from './wire.js';

export interface ChatToAnthropicStreamOptions {
  /** The model named in message_start (the caller's); default: the model of the first chunk */
  model?: string;
}

export function createChatToAnthropicStream(opts: ChatToAnthropicStreamOptions = {}): StreamTranslator {
  let out = '';
  let started = false;
  let ended = false; // message_stop or error sent: nothing more goes out
  let nextBlock = 0;
  let open: number | null = null; // the block index that is open
  let textBlock: number | null = null; // the open text block, if the open block is text
  const toolBlocks = new Map<number, number>(); // tool_calls[].index → block index
  let finishReason: string | null = null;
  let usage: ChatUsage | null = null;
  let refused = false;

  const emit = (name: string, data: unknown) => {
    out += sseEvent(name, data);
  };

  const start = (chunk: ChatChunk) => {
    started = true;
    emit('message_start', {
      type: 'message_start',
      message: {
        id: typeof chunk.id === 'string' && chunk.id !== '' ? chunk.id : 'msg_ibex',
        type: 'message',
        role: 'assistant',
        model: opts.model ?? (typeof chunk.model === 'string' ? chunk.model : ''),
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: null, cache_read_input_tokens: null },
      },
    });
  };

  const closeOpen = () => {
    if (open === null) return;
    emit('content_block_stop', { type: 'content_block_stop', index: open });
    open = null;
    textBlock = null;
  };

  const text = (t: string) => {
    if (textBlock === null) {
      closeOpen();
      textBlock = open = nextBlock++;
      emit('content_block_start', { type: 'content_block_start', index: textBlock, content_block: { type: 'text', text: '', citations: null } });
    }
    emit('content_block_delta', { type: 'content_block_delta', index: textBlock, delta: { type: 'text_delta', text: t } });
  };

  const toolCall = (call: ChatToolCall, position: number) => {
    const key = typeof call.index === 'number' ? call.index : position;
    let block = toolBlocks.get(key);
    if (block === undefined) {
      closeOpen();
      block = open = nextBlock++;
      toolBlocks.set(key, block);
      emit('content_block_start', {
        type: 'content_block_start',
        index: block,
        content_block: { type: 'tool_use', id: call.id || `toolu_ibex_${block}`, name: call.function?.name ?? '', input: {} },
      });
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      emit('content_block_delta', { type: 'content_block_delta', index: block, delta: { type: 'input_json_delta', partial_json: args } });
    }
  };

  const finish = () => {
    closeOpen();
    emit('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: refused ? 'refusal' : (anthropicStopReason(finishReason) ?? 'end_turn'), stop_sequence: null },
      // cumulative totals; input counts are only known now (OpenAI reports usage last)
      usage: anthropicUsageFromChat(usage),
    });
    emit('message_stop', { type: 'message_stop' });
    ended = true;
  };

  const fail = (type: string, message: string) => {
    emit('error', { type: 'error', error: { type, message } });
    ended = true;
  };

  const reader = createSseReader((sse) => {
    if (ended) return;
    if (sse.data === '[DONE]') {
      if (!started) start({});
      finish();
      return;
    }
    const chunk = tryJson(sse.data);
    if (!isObject(chunk)) return;
    const c = chunk as ChatChunk;
    if (isObject(c.error)) {
      const e = c.error;
      fail(anthropicTypeFromOpenAI(e.type, e.code), typeof e.message === 'string' ? e.message : 'The provider reported an error.');
      return;
    }
    if (!started) start(c);
    const choice = Array.isArray(c.choices) ? c.choices[0] : undefined;
    const delta = choice?.delta;
    if (delta) {
      if (typeof delta.content === 'string' && delta.content !== '') text(delta.content);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') {
        refused = true;
        text(delta.refusal);
      }
      if (Array.isArray(delta.tool_calls)) delta.tool_calls.forEach((call, i) => isObject(call) && toolCall(call, i));
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
    if (isObject(c.usage)) usage = c.usage;
  });

  return {
    push(chunk) {
      reader.push(chunk);
      const s = out;
      out = '';
      return s;
    },
    end() {
      reader.end();
      if (!ended) {
        if (finishReason !== null) {
          if (!started) start({});
          finish();
        } else {
          fail('api_error', 'The provider’s stream ended before the reply was complete.');
        }
      }
      const s = out;
      out = '';
      return s;
    },
  };
}
