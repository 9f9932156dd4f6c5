// Rebuilds the facts of a streamed Responses reply from the bytes forwarded to the caller. The event
// stream is decoded incrementally (complete lines only, O(chunk) per push). The terminal event
// (response.completed / incomplete / failed) carries the whole Response, so when it arrives the facts
// are read from it; the deltas seen before it are the fallback for a stream that was cut.
//
// Memory is bounded by maxBytes twice over: the event being read (a larger one is dropped, its name
// kept) and the text and arguments gathered from deltas (beyond it they stop growing: truncated).
import type { StreamReassembler } from '../types.js';
import { SseDecoder, type SseEvent } from './sse.js';
import { readOutput, summarise, type ResponsesReplyFacts } from './summarise.js';

export type ResponsesReassembly = ResponsesReplyFacts & { truncated: boolean; bytes: number };

export interface ResponsesReassembler extends StreamReassembler {
  finish(): ResponsesReassembly;
  /** The highest sequence_number seen so far (-1 before any): an in-band error ibex appends follows it */
  readonly lastSequenceNumber: number;
}

const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

type Item =
  | { type: 'message'; id: string | null; parts: Map<number, string> }
  | { type: 'function_call'; id: string | null; callId: string; name: string; arguments: string }
  | { type: 'other'; raw: Record<string, unknown> };

type Ev = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const idx = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

export function createReassembler(maxBytes: number): ResponsesReassembler {
  return new Reassembler(maxBytes);
}

class Reassembler implements ResponsesReassembler {
  private readonly decoder: SseDecoder;
  private bytes = 0;
  private responseId: string | null = null;
  private terminal: ResponsesReplyFacts | null = null;
  /** A terminal event arrived whole but was too large to keep */
  private terminalDropped = false;
  private streamError: string | null = null;
  private readonly items = new Map<number, Item>();
  /** Characters held in items' text and arguments, bounded by maxBytes */
  private held = 0;
  private deltasDropped = false;
  lastSequenceNumber = -1;

  constructor(private readonly maxBytes: number) {
    this.decoder = new SseDecoder(maxBytes);
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const ev of this.decoder.push(chunk)) this.event(ev);
  }

  finish(): ResponsesReassembly {
    for (const ev of this.decoder.flush()) this.event(ev);
    const seen = this.fromDeltas();
    if (this.terminal) {
      const t = this.terminal;
      const empty = t.text === null && t.toolCalls.length === 0;
      return {
        ...t,
        ...(empty && (seen.text !== null || seen.toolCalls.length > 0) ? seen : {}),
        streamError: t.streamError ?? this.streamError,
        completed: true, // the terminal event arrived, even if its response lacks a status
        responseId: t.responseId ?? this.responseId,
        truncated: false,
        bytes: this.bytes,
      };
    }
    return {
      ...seen,
      finishReason: null,
      usage: null,
      streamError: this.streamError,
      completed: this.terminalDropped,
      responseId: this.responseId,
      truncated: this.decoder.overflowed || this.deltasDropped,
      bytes: this.bytes,
    };
  }

  private event(sse: SseEvent): void {
    if (sse.data === null) {
      if (!sse.unterminated && sse.event !== null && TERMINAL_EVENTS.has(sse.event)) this.terminalDropped = true;
      return;
    }
    let ev: Ev;
    try {
      const parsed: unknown = JSON.parse(sse.data);
      if (!isObject(parsed)) return;
      ev = parsed;
    } catch {
      return; // the cut last event of a stream, or a keep-alive that is not JSON
    }
    if (typeof ev.sequence_number === 'number' && ev.sequence_number > this.lastSequenceNumber) this.lastSequenceNumber = ev.sequence_number;
    const type = str(ev.type) ?? sse.event ?? '';
    if (TERMINAL_EVENTS.has(type)) {
      this.terminal = summarise(ev.response);
      return;
    }
    switch (type) {
      case 'response.created':
      case 'response.queued':
      case 'response.in_progress':
        if (isObject(ev.response) && typeof ev.response.id === 'string') this.responseId = ev.response.id;
        return;
      case 'error':
        this.streamError = str(ev.message) ?? (isObject(ev.error) ? str(ev.error.message) : null) ?? 'stream error';
        return;
      case 'response.output_item.added':
      case 'response.output_item.done':
        this.item(idx(ev.output_index), ev.item);
        return;
      case 'response.content_part.added':
      case 'response.content_part.done':
        if (isObject(ev.part) && ev.part.type === 'output_text') this.setPart(idx(ev.output_index), idx(ev.content_index), str(ev.part.text) ?? '');
        return;
      case 'response.output_text.delta':
        this.appendPart(idx(ev.output_index), idx(ev.content_index), str(ev.delta) ?? '');
        return;
      case 'response.output_text.done':
        this.setPart(idx(ev.output_index), idx(ev.content_index), str(ev.text) ?? '');
        return;
      case 'response.function_call_arguments.delta': {
        const fc = this.functionCall(idx(ev.output_index));
        const delta = str(ev.delta) ?? '';
        if (this.fits(delta.length)) fc.arguments += delta;
        return;
      }
      case 'response.function_call_arguments.done': {
        const fc = this.functionCall(idx(ev.output_index));
        this.setArguments(fc, str(ev.arguments) ?? fc.arguments);
        if (typeof ev.name === 'string') fc.name = ev.name;
        return;
      }
      default:
        return; // reasoning, refusal, tool progress…: not part of ReplyFacts
    }
  }

  private item(outputIndex: number, raw: unknown): void {
    if (!isObject(raw)) return;
    if (raw.type === 'message') {
      const msg = this.message(outputIndex);
      if (typeof raw.id === 'string') msg.id = raw.id;
      if (Array.isArray(raw.content)) {
        raw.content.forEach((part, ci) => {
          if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') this.setPart(outputIndex, ci, part.text);
        });
      }
    } else if (raw.type === 'function_call') {
      const fc = this.functionCall(outputIndex);
      if (typeof raw.id === 'string') fc.id = raw.id;
      if (typeof raw.call_id === 'string') fc.callId = raw.call_id;
      if (typeof raw.name === 'string') fc.name = raw.name;
      if (typeof raw.arguments === 'string' && raw.arguments !== '') this.setArguments(fc, raw.arguments);
    } else if (!this.items.has(outputIndex)) {
      this.items.set(outputIndex, { type: 'other', raw: { type: raw.type, ...(typeof raw.id === 'string' ? { id: raw.id } : {}) } });
    }
  }

  private message(outputIndex: number): Extract<Item, { type: 'message' }> {
    const it = this.items.get(outputIndex);
    if (it?.type === 'message') return it;
    const msg: Item = { type: 'message', id: null, parts: new Map() };
    this.items.set(outputIndex, msg);
    return msg;
  }

  private functionCall(outputIndex: number): Extract<Item, { type: 'function_call' }> {
    const it = this.items.get(outputIndex);
    if (it?.type === 'function_call') return it;
    const fc: Item = { type: 'function_call', id: null, callId: '', name: '', arguments: '' };
    this.items.set(outputIndex, fc);
    return fc;
  }

  private appendPart(oi: number, ci: number, delta: string): void {
    const msg = this.message(oi);
    if (this.fits(delta.length)) msg.parts.set(ci, (msg.parts.get(ci) ?? '') + delta);
  }

  private setPart(oi: number, ci: number, text: string): void {
    const msg = this.message(oi);
    const old = msg.parts.get(ci) ?? '';
    if (this.fits(text.length - old.length)) msg.parts.set(ci, text);
  }

  private setArguments(fc: Extract<Item, { type: 'function_call' }>, args: string): void {
    if (this.fits(args.length - fc.arguments.length)) fc.arguments = args;
  }

  /** Whether `more` characters may still be held; past the bound, text stops growing (truncated). */
  private fits(more: number): boolean {
    if (more <= 0 || this.held + more <= this.maxBytes) {
      this.held += more;
      return true;
    }
    this.deltasDropped = true;
    return false;
  }

  /** The output items and facts rebuilt from the events seen, for a stream without its terminal event. */
  private fromDeltas(): Pick<ResponsesReplyFacts, 'text' | 'toolCalls' | 'output'> {
    const output: unknown[] = [];
    for (const oi of [...this.items.keys()].sort((a, b) => a - b)) {
      const it = this.items.get(oi)!;
      if (it.type === 'message') {
        const content = [...it.parts.keys()].sort((a, b) => a - b).map((ci) => ({ type: 'output_text', text: it.parts.get(ci)!, annotations: [] }));
        output.push({ type: 'message', id: it.id, role: 'assistant', status: 'incomplete', content });
      } else if (it.type === 'function_call') {
        output.push({ type: 'function_call', id: it.id, call_id: it.callId, name: it.name, arguments: it.arguments, status: 'incomplete' });
      } else {
        output.push(it.raw);
      }
    }
    return { ...readOutput(output), output: output.length > 0 ? output : null };
  }
}
