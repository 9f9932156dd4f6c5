// Anthropic Messages streams: named events. Text in `content_block_delta` (`text_delta`) per block
// index; tool calls start with `content_block_start` (a `tool_use` block with its name) and continue as
// `input_json_delta` pieces; `content_block_stop` closes a block; `message_stop` ends the reply.
import type { FilterCore } from './core.js';
import type { RawEvent } from './sse-split.js';
import type { StreamCodec } from './codec.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

export function anthropicCodec(): StreamCodec {
  const synth = (index: number, text: string) =>
    `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } })}\n\n`;

  return {
    async handle(raw: RawEvent, core: FilterCore) {
      if (raw.data === null) return core.emit(raw.raw);
      let ev: unknown;
      try {
        ev = JSON.parse(raw.data);
      } catch {
        return core.emit(raw.raw);
      }
      if (!isObject(ev)) return core.emit(raw.raw);
      const type = typeof ev.type === 'string' ? ev.type : (raw.event ?? '');

      if (type === 'content_block_delta' && isObject(ev.delta)) {
        const index = num(ev.index);
        const d = ev.delta;
        if (d.type === 'text_delta' && typeof d.text === 'string') {
          const out = await core.text(index, d.text);
          if (core.stopped) return;
          if (out === d.text) return core.emit(raw.raw);
          if (out === '') return;
          return core.emit(synth(index, out));
        }
        if (d.type === 'input_json_delta' && typeof d.partial_json === 'string') {
          await core.toolCall({ kind: 'tool_call', index, arguments: d.partial_json });
          return core.emit(raw.raw);
        }
        return core.emit(raw.raw);
      }
      if (type === 'content_block_start' && isObject(ev.content_block) && ev.content_block.type === 'tool_use') {
        const b = ev.content_block;
        await core.toolCall({
          kind: 'tool_call',
          index: num(ev.index),
          ...(typeof b.id === 'string' ? { id: b.id } : {}),
          ...(typeof b.name === 'string' ? { name: b.name } : {}),
          arguments: '',
        });
        return core.emit(raw.raw);
      }
      if (type === 'content_block_stop') {
        const index = num(ev.index);
        const rest = await core.flush(index);
        if (core.stopped) return;
        if (rest) core.emit(synth(index, rest));
        return core.emit(raw.raw);
      }
      if (type === 'message_stop') {
        for (const i of core.heldOutputs()) {
          const rest = await core.flush(i);
          if (rest) core.emit(synth(i, rest));
        }
        await core.end();
        return core.emit(raw.raw);
      }
      core.emit(raw.raw);
    },
  };
}
