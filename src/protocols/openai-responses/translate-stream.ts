// A streamed chat completion (chat.completion.chunk SSE) as the Responses event stream, for a
// Responses caller served by a chat-only provider. The events follow the API's order: response.created
// and response.in_progress first; a message item (output_item.added, content_part.added, output_text
// deltas) that is closed (…done events) when a tool call begins; one function_call item per chat
// tool call (function_call_arguments deltas), closed at the end; then response.completed (or
// .incomplete / .failed) carrying the whole Response with usage. sequence_number counts from 0.
//
// The terminal event waits for [DONE] (or the end of the upstream body): chat sends usage in a chunk
// after the one with finish_reason. An upstream that ends with neither [DONE] nor a finish_reason was
// cut, and the stream ends with response.failed.
import type { StreamTranslator } from '../types.js';
import type { ResponsesBody } from './parse.js';
import { responseIds, type ResponseIds } from './ids.js';
import { buildResponse, chatUsageToResponses, type ChatUsage, type ResponseStatus } from './response-object.js';
import { SseDecoder, type SseEvent } from './sse.js';
import { statusOf, type TranslateOptions } from './translate-response.js';

interface ChatChunk {
  id?: string;
  created?: number;
  model?: string;
  choices?: {
    delta?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: ChatToolCallDelta[] | null;
    };
    finish_reason?: string | null;
  }[];
  usage?: ChatUsage | null;
  error?: { message?: unknown; code?: unknown };
}

interface ChatToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

type PartKind = 'output_text' | 'refusal';
/** `status` is set when the item is closed (a message closes when a tool call begins, before the end). */
interface MessageItem { type: 'message'; id: string; parts: { kind: PartKind; text: string }[]; open: boolean; status?: ItemStatus }
interface CallItem { type: 'function_call'; id: string; callId: string; name: string; arguments: string; open: boolean; status?: ItemStatus }
type ItemStatus = 'completed' | 'incomplete';
type Item = MessageItem | CallItem;

export const CUT_STREAM_MESSAGE = 'The provider’s stream ended before the reply was complete.';

export function createChatToResponsesStream(requestBody: ResponsesBody, opts: TranslateOptions = {}): StreamTranslator {
  return new ChatToResponsesStream(requestBody, opts);
}

class ChatToResponsesStream implements StreamTranslator {
  private readonly decoder = new SseDecoder();
  private readonly ids: ResponseIds;
  private readonly now: () => number;
  private seq = 0;
  private started = false;
  private finished = false;
  private model: string;
  private createdAt = 0;
  private readonly items: Item[] = [];
  private openMessage: MessageItem | null = null;
  /** chat tool_calls[].index → the function_call item */
  private readonly calls = new Map<number, CallItem>();
  private finishReason: string | null = null;
  private sawDone = false;
  private usage: ChatUsage | null = null;
  private error: { code: string; message: string } | null = null;

  constructor(private readonly body: ResponsesBody, opts: TranslateOptions) {
    this.ids = responseIds(opts.responseId);
    this.now = opts.now ?? Date.now;
    this.model = body.model;
  }

  push(chunk: Buffer): string {
    let out = '';
    for (const ev of this.decoder.push(chunk)) out += this.handle(ev);
    return out;
  }

  end(): string {
    let out = '';
    for (const ev of this.decoder.flush()) out += this.handle(ev);
    return out + this.finish();
  }

  private handle(ev: SseEvent): string {
    if (this.finished || ev.data === null) return '';
    if (ev.data.trim() === '[DONE]') {
      this.sawDone = true;
      return this.finish();
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(ev.data) as ChatChunk;
    } catch {
      return ''; // the cut last line of an upstream that ended early; end() reports it
    }
    if (chunk === null || typeof chunk !== 'object') return '';
    let out = this.start(chunk);
    if (chunk.error && typeof chunk.error === 'object') {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'The provider reported an error.';
      const code = typeof chunk.error.code === 'string' ? chunk.error.code : 'server_error';
      this.error = { code, message };
      return out + this.emit('error', { code, message, param: null });
    }
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    if (delta) {
      if (typeof delta.content === 'string' && delta.content !== '') out += this.text('output_text', delta.content);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.text('refusal', delta.refusal);
      for (const tc of delta.tool_calls ?? []) out += this.toolCall(tc);
    }
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    if (chunk.usage) this.usage = chunk.usage;
    return out;
  }

  private start(chunk?: ChatChunk): string {
    if (this.started) return '';
    this.started = true;
    if (typeof chunk?.model === 'string' && chunk.model !== '') this.model = chunk.model;
    this.createdAt = typeof chunk?.created === 'number' ? chunk.created : Math.floor(this.now() / 1000);
    const response = this.response('in_progress', []);
    return this.emit('response.created', { response }) + this.emit('response.in_progress', { response });
  }

  private text(kind: PartKind, delta: string): string {
    let out = '';
    let msg = this.openMessage;
    if (!msg) {
      msg = { type: 'message', id: this.ids.message(this.items.length), parts: [], open: true };
      this.openMessage = msg;
      this.items.push(msg);
      out += this.emit('response.output_item.added', { output_index: this.items.length - 1, item: this.messageJson(msg, 'in_progress') });
    }
    const outputIndex = this.items.indexOf(msg);
    let part = msg.parts[msg.parts.length - 1];
    if (!part || part.kind !== kind) {
      part = { kind, text: '' };
      msg.parts.push(part);
      out += this.emit('response.content_part.added', { item_id: msg.id, output_index: outputIndex, content_index: msg.parts.length - 1, part: partJson(part) });
    }
    part.text += delta;
    const where = { item_id: msg.id, output_index: outputIndex, content_index: msg.parts.length - 1 };
    return out + (kind === 'output_text' ? this.emit('response.output_text.delta', { ...where, delta, logprobs: [] }) : this.emit('response.refusal.delta', { ...where, delta }));
  }

  private toolCall(tc: ChatToolCallDelta): string {
    let out = '';
    const chatIndex = typeof tc.index === 'number' ? tc.index : 0;
    let call = this.calls.get(chatIndex);
    if (!call) {
      out += this.closeMessage('completed');
      const outputIndex = this.items.length;
      const id = this.ids.functionCall(outputIndex);
      call = { type: 'function_call', id, callId: tc.id ?? id, name: tc.function?.name ?? '', arguments: '', open: true };
      this.calls.set(chatIndex, call);
      this.items.push(call);
      out += this.emit('response.output_item.added', { output_index: outputIndex, item: callJson(call, 'in_progress') });
    } else if (call.name === '' && tc.function?.name) {
      call.name = tc.function.name;
    }
    const args = tc.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      call.arguments += args;
      out += this.emit('response.function_call_arguments.delta', { item_id: call.id, output_index: this.items.indexOf(call), delta: args });
    }
    return out;
  }

  private closeMessage(itemStatus: ItemStatus): string {
    const msg = this.openMessage;
    if (!msg) return '';
    this.openMessage = null;
    msg.open = false;
    msg.status = itemStatus;
    const outputIndex = this.items.indexOf(msg);
    let out = '';
    msg.parts.forEach((part, contentIndex) => {
      const where = { item_id: msg.id, output_index: outputIndex, content_index: contentIndex };
      out +=
        part.kind === 'output_text'
          ? this.emit('response.output_text.done', { ...where, text: part.text, logprobs: [] })
          : this.emit('response.refusal.done', { ...where, refusal: part.text });
      out += this.emit('response.content_part.done', { ...where, part: partJson(part) });
    });
    return out + this.emit('response.output_item.done', { output_index: outputIndex, item: this.messageJson(msg, itemStatus) });
  }

  private finish(): string {
    if (this.finished) return '';
    let out = this.start();
    this.finished = true;
    if (!this.error && !this.sawDone && this.finishReason === null) this.error = { code: 'server_error', message: CUT_STREAM_MESSAGE };
    const { status, incompleteReason } = this.error ? { status: 'failed' as const, incompleteReason: null } : statusOf(this.finishReason);
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    out += this.closeMessage(itemStatus);
    this.items.forEach((item, outputIndex) => {
      if (item.type !== 'function_call' || !item.open) return;
      item.open = false;
      item.status = itemStatus;
      out += this.emit('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, name: item.name, arguments: item.arguments });
      out += this.emit('response.output_item.done', { output_index: outputIndex, item: callJson(item, itemStatus) });
    });
    const output = this.items.map((item) => (item.type === 'message' ? this.messageJson(item, item.status ?? itemStatus) : callJson(item, item.status ?? itemStatus)));
    const response = this.response(status, output, incompleteReason);
    const type = status === 'completed' ? 'response.completed' : status === 'incomplete' ? 'response.incomplete' : 'response.failed';
    return out + this.emit(type, { response });
  }

  private response(status: ResponseStatus, output: unknown[], incompleteReason: 'max_output_tokens' | 'content_filter' | null = null): Record<string, unknown> {
    return buildResponse(
      {
        id: this.ids.response,
        createdAt: this.createdAt,
        model: this.model,
        status,
        output,
        incompleteReason,
        error: status === 'failed' ? this.error : null,
        usage: status === 'in_progress' ? null : chatUsageToResponses(this.usage),
        ...(status === 'completed' ? { completedAt: Math.floor(this.now() / 1000) } : {}),
      },
      this.body,
    );
  }

  private messageJson(msg: MessageItem, status: string): Record<string, unknown> {
    return { type: 'message', id: msg.id, role: 'assistant', status, content: msg.parts.map(partJson) };
  }

  private emit(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.seq++ })}\n\n`;
  }
}

function partJson(part: { kind: PartKind; text: string }): Record<string, unknown> {
  return part.kind === 'output_text' ? { type: 'output_text', text: part.text, annotations: [], logprobs: [] } : { type: 'refusal', refusal: part.text };
}

function callJson(call: CallItem, status: string): Record<string, unknown> {
  return { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: call.arguments, status };
}
