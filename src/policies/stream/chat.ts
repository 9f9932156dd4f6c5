// Chat Completions (and legacy completions) streams: unnamed `data:` events of chunks, text in
// `choices[i].delta.content` (completions: `choices[i].text`), tool calls in `delta.tool_calls`, a
// chunk with `finish_reason` closing each choice, `data: [DONE]` at the end.
import type { FilterCore } from './core.js';
import type { RawEvent } from './sse-split.js';
import type { StreamCodec } from './codec.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export function chatCodec(): StreamCodec {
  /** The last chunk's envelope (id, object, created, model…), for the events that release held text */
  let envelope: Json = {};
  const synth = (index: number, text: string, completions: boolean): string => {
    const choice = completions ? { index, text, finish_reason: null } : { index, delta: { content: text }, finish_reason: null };
    return `data: ${JSON.stringify({ ...envelope, choices: [choice] })}\n\n`;
  };
  let completions = false;

  const flushAll = async (core: FilterCore) => {
    for (const i of core.heldOutputs()) core.emit(synth(i, await core.flush(i), completions));
  };

  return {
    async handle(ev: RawEvent, core: FilterCore) {
      const data = ev.data?.trim();
      if (data === undefined || data === '') return core.emit(ev.raw);
      if (data === '[DONE]') {
        await flushAll(core);
        await core.end();
        return core.emit(ev.raw);
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return core.emit(ev.raw);
      }
      if (!isObject(chunk) || !Array.isArray(chunk.choices)) return core.emit(ev.raw);
      const { choices: _c, usage: _u, ...rest } = chunk;
      envelope = rest;
      let changed = false;
      const before: string[] = [];
      for (let n = 0; n < chunk.choices.length; n++) {
        const c: unknown = chunk.choices[n];
        if (!isObject(c)) continue;
        const index = typeof c.index === 'number' ? c.index : n;
        const delta = isObject(c.delta) ? c.delta : null;
        if (delta && typeof delta.content === 'string' && delta.content !== '') {
          const out = await core.text(index, delta.content);
          if (out !== delta.content) {
            delta.content = out;
            changed = true;
          }
        } else if (typeof c.text === 'string' && c.text !== '') {
          completions = true;
          const out = await core.text(index, c.text);
          if (out !== c.text) {
            c.text = out;
            changed = true;
          }
        }
        if (delta && Array.isArray(delta.tool_calls)) {
          for (const t of delta.tool_calls) {
            if (!isObject(t)) continue;
            const fn = isObject(t.function) ? t.function : {};
            await core.toolCall({
              kind: 'tool_call',
              index: typeof t.index === 'number' ? t.index : 0,
              ...(typeof t.id === 'string' ? { id: t.id } : {}),
              ...(typeof fn.name === 'string' ? { name: fn.name } : {}),
              arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
            });
          }
        }
        // held text of this choice goes out before the chunk that closes it
        if (c.finish_reason) {
          const rest = await core.flush(index);
          if (rest) before.push(synth(index, rest, completions));
        }
        if (core.stopped) return;
      }
      for (const s of before) core.emit(s);
      core.emit(changed ? `data: ${JSON.stringify(chunk)}\n\n` : ev.raw);
    },
  };
}
