// Line formats of `ibex sessions export`: one JSON document per line, per checkpoint.
//   jsonl            the checkpoint as stored (messages rebuilt; the internal body template left out)
//   openai-finetune  {"messages": [...the turn's messages, {"role":"assistant","content": reply}]}, the
//                    shape of OpenAI's chat fine-tuning files; only completed turns with content
import type { Checkpoint } from '../stores/ports.js';

export const EXPORT_FORMATS = ['jsonl', 'openai-finetune'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The line (without newline) for one checkpoint, or null when the format skips it. */
export function exportLine(cp: Checkpoint, format: ExportFormat): string | null {
  if (format === 'jsonl') {
    const { upstreamTemplate: _template, ...rest } = cp;
    return JSON.stringify(rest);
  }
  if (cp.status !== 'ok' || cp.reply === null || cp.contentMode === 'metadata') return null;
  const messages = cp.messages.flatMap(chatMessage);
  if (!messages.length) return null;
  return JSON.stringify({ messages: [...messages, { role: 'assistant', content: cp.reply }] });
}

/** A recorded message (chat message, or Responses input item) as a chat message; [] when it is not one. */
function chatMessage(m: unknown): Record<string, unknown>[] {
  if (!m || typeof m !== 'object') return [];
  const item = m as Record<string, unknown>;
  if (typeof item.role !== 'string') return [];
  if (item.type === undefined || item.type === 'message') {
    const { type: _type, ...rest } = item;
    // Responses content parts ({type:'input_text', text}) become plain text.
    if (Array.isArray(rest.content) && rest.content.every((p) => p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string')) {
      const types = rest.content.map((p) => (p as { type?: unknown }).type);
      if (types.every((t) => t === 'input_text' || t === 'output_text')) rest.content = rest.content.map((p) => (p as { text: string }).text).join('');
    }
    return [rest];
  }
  return [];
}
