// Rebuilds ReplyFacts from a streamed Messages reply while it is forwarded (for the checkpoint).
// Each push parses only the complete lines of its chunk. Past maxBytes of stream the reply is
// `truncated`: text and tool arguments stop growing (their delta lines are skipped unparsed), but the
// small control events are still read, so stop reason, usage and completion stay right.
import type { CanonicalToolCall, ReplyFacts, StreamReassembler } from '../types.js';
import { createSseReader, tryJson, type SseEvent } from './sse.js';
import { usageFromAnthropic } from './usage.js';
import { isObject, type AnthropicUsage, type Json } from './wire.js';

interface ToolBlock {
  id: string;
  name: string;
  /** input_json_delta pieces, joined once at finish */
  parts: string[];
  /** JSON of the input given in content_block_start, used when no delta followed */
  startInput: string;
}

export function createReassembler(maxBytes: number): StreamReassembler {
  const text: string[] = [];
  let hasText = false;
  const tools = new Map<number, ToolBlock>();
  let finishReason: string | null = null;
  let usage: AnthropicUsage | null = null;
  let streamError: string | null = null;
  let completed = false;
  let responseId: string | null = null;
  let bytes = 0;
  let truncated = false;

  const mergeUsage = (u: unknown) => {
    if (!isObject(u)) return;
    usage ??= {};
    // Anthropic's counters are cumulative totals, omitted (or null) when they do not apply.
    for (const [k, v] of Object.entries(u)) if (v != null) (usage as Json)[k] = v;
  };

  const onEvent = (sse: SseEvent) => {
    const ev = tryJson(sse.data);
    if (!isObject(ev)) return;
    switch (ev.type ?? sse.event) {
      case 'message_start': {
        const m = isObject(ev.message) ? ev.message : {};
        if (typeof m.id === 'string') responseId = m.id;
        mergeUsage(m.usage);
        break;
      }
      case 'content_block_start': {
        const block = isObject(ev.content_block) ? ev.content_block : {};
        const index = typeof ev.index === 'number' ? ev.index : -1;
        if (block.type === 'text') {
          hasText = true;
          if (typeof block.text === 'string' && block.text !== '' && !truncated) text.push(block.text);
        } else if (block.type === 'tool_use') {
          tools.set(index, {
            id: typeof block.id === 'string' ? block.id : '',
            name: typeof block.name === 'string' ? block.name : '',
            parts: [],
            startInput: JSON.stringify(block.input ?? {}),
          });
        }
        break;
      }
      case 'content_block_delta': {
        if (truncated) break;
        const delta = isObject(ev.delta) ? ev.delta : {};
        if (delta.type === 'text_delta' && typeof delta.text === 'string') {
          hasText = true;
          text.push(delta.text);
        } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          tools.get(typeof ev.index === 'number' ? ev.index : -1)?.parts.push(delta.partial_json);
        }
        break;
      }
      case 'message_delta': {
        const delta = isObject(ev.delta) ? ev.delta : {};
        if (typeof delta.stop_reason === 'string') finishReason = delta.stop_reason;
        mergeUsage(ev.usage);
        break;
      }
      case 'message_stop':
        completed = true;
        break;
      case 'error': {
        const err = isObject(ev.error) ? ev.error : {};
        streamError = typeof err.message === 'string' ? err.message : typeof err.type === 'string' ? err.type : 'stream error';
        break;
      }
    }
  };

  const reader = createSseReader(onEvent, {
    maxLineChars: maxBytes,
    onOversize: () => {
      truncated = true;
    },
    // Past the bound, deltas are not even buffered: only control events are read.
    wantData: (event) => !truncated || event !== 'content_block_delta',
  });

  return {
    push(chunk) {
      bytes += chunk.length;
      if (bytes > maxBytes) truncated = true;
      reader.push(chunk);
    },
    finish(): ReplyFacts & { truncated: boolean; bytes: number } {
      reader.end();
      const toolCalls: CanonicalToolCall[] = [...tools.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, t]) => ({ id: t.id, name: t.name, arguments: t.parts.length > 0 ? t.parts.join('') : t.startInput }));
      return {
        text: hasText ? text.join('') : null,
        toolCalls,
        finishReason,
        usage: usageFromAnthropic(usage),
        streamError,
        completed,
        responseId,
        truncated,
        bytes,
      };
    },
  };
}
