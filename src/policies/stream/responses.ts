// Responses API streams: named events. Text arrives in `response.output_text.delta` (per output item
// and content part); the `…output_text.done`, `…content_part.done`, `…output_item.done` and
// `response.completed` events repeat the full text, so they are patched with the text actually sent.
// Tool calls: `response.output_item.added` (a `function_call` item with its name), then
// `response.function_call_arguments.delta` pieces.
import type { FilterCore } from './core.js';
import type { RawEvent } from './sse-split.js';
import type { StreamCodec } from './codec.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
/** One number per (output item, content part) */
const key = (output: unknown, content: unknown) => num(output) * 1024 + num(content);

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function responsesCodec(): StreamCodec {
  /** The last delta event of each output, for the events that release held text */
  const lastDelta = new Map<number, Json>();
  const synth = (k: number, text: string): string => {
    const ev = { ...(lastDelta.get(k) ?? { type: 'response.output_text.delta' }), delta: text };
    return `event: response.output_text.delta\ndata: ${JSON.stringify(ev)}\n\n`;
  };
  const write = (core: FilterCore, name: string, ev: Json) => core.emit(`event: ${name}\ndata: ${JSON.stringify(ev)}\n\n`);

  let lastSequenceNumber = -1;
  return {
    get lastSequenceNumber() {
      return lastSequenceNumber;
    },
    async handle(raw: RawEvent, core: FilterCore) {
      if (raw.data === null) return core.emit(raw.raw);
      let ev: unknown;
      try {
        ev = JSON.parse(raw.data);
      } catch {
        return core.emit(raw.raw);
      }
      if (!isObject(ev)) return core.emit(raw.raw);
      if (typeof ev.sequence_number === 'number' && ev.sequence_number > lastSequenceNumber) lastSequenceNumber = ev.sequence_number;
      const type = typeof ev.type === 'string' ? ev.type : (raw.event ?? '');
      const name = raw.event ?? type;

      if (type === 'response.output_text.delta' && typeof ev.delta === 'string') {
        const k = key(ev.output_index, ev.content_index);
        lastDelta.set(k, ev);
        const out = await core.text(k, ev.delta);
        if (core.stopped) return;
        if (out === ev.delta) return core.emit(raw.raw);
        if (out === '') return;
        return write(core, name, { ...ev, delta: out });
      }
      if (type === 'response.output_text.done') {
        const k = key(ev.output_index, ev.content_index);
        const rest = await core.flush(k);
        if (core.stopped) return;
        if (rest) core.emit(synth(k, rest));
        const sent = core.emittedText(k);
        return sent === undefined ? core.emit(raw.raw) : write(core, name, { ...ev, text: sent });
      }
      if (type === 'response.content_part.done' && isObject(ev.part)) {
        const sent = core.emittedText(key(ev.output_index, ev.content_index));
        if (sent === undefined || typeof ev.part.text !== 'string') return core.emit(raw.raw);
        return write(core, name, { ...ev, part: { ...ev.part, text: sent } });
      }
      if (type === 'response.output_item.added' && isObject(ev.item) && ev.item.type === 'function_call') {
        const item = ev.item;
        await core.toolCall({
          kind: 'tool_call',
          index: num(ev.output_index),
          ...(typeof item.call_id === 'string' ? { id: item.call_id } : {}),
          ...(typeof item.name === 'string' ? { name: item.name } : {}),
          arguments: typeof item.arguments === 'string' ? item.arguments : '',
        });
        return core.emit(raw.raw);
      }
      if (type === 'response.function_call_arguments.delta' && typeof ev.delta === 'string') {
        await core.toolCall({ kind: 'tool_call', index: num(ev.output_index), arguments: ev.delta });
        return core.emit(raw.raw);
      }
      if (type === 'response.output_item.done' && isObject(ev.item) && Array.isArray(ev.item.content)) {
        const o = num(ev.output_index);
        let changed = false;
        const content = ev.item.content.map((part: unknown, j: number) => {
          const sent = core.emittedText(key(o, j));
          if (sent === undefined || !isObject(part) || typeof part.text !== 'string') return part;
          changed = true;
          return { ...part, text: sent };
        });
        return changed ? write(core, name, { ...ev, item: { ...ev.item, content } }) : core.emit(raw.raw);
      }
      if (TERMINAL.has(type)) {
        for (const k of core.heldOutputs()) {
          const rest = await core.flush(k);
          if (rest) core.emit(synth(k, rest));
        }
        await core.end();
        if (core.stopped) return;
        if (isObject(ev.response) && Array.isArray(ev.response.output)) {
          const response = structuredClone(ev.response);
          let changed = false;
          (response.output as unknown[]).forEach((item, o) => {
            if (!isObject(item) || !Array.isArray(item.content)) return;
            item.content.forEach((part: unknown, j: number) => {
              const sent = core.emittedText(key(o, j));
              if (sent !== undefined && isObject(part) && typeof part.text === 'string') {
                part.text = sent;
                changed = true;
              }
            });
          });
          if (changed) {
            return write(core, name, { ...ev, response });
          }
        }
        return core.emit(raw.raw);
      }
      core.emit(raw.raw);
    },
  };
}
