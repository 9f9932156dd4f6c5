// OpenAI chat caller → Anthropic provider: the chat completion request as a Messages request, and
// the Message reply as a chat.completion. (The streamed reply: translate-from-chat-stream.ts.)
import { IbexError } from '../../errors.js';
import { chatFinishReason } from './stop-reasons.js';
import { chatUsageFromAnthropic } from './usage.js';
import { checkTranslatedFields, type FieldKind, nonEmptyString } from '../translated-fields.js';
import { isObject, type AnthropicMessage, type ChatToolCall, type Json } from './wire.js';

export { createAnthropicToChatStream } from './translate-from-chat-stream.js';

/**
 * Anthropic requires max_tokens; chat does not. When the caller gives neither max_completion_tokens
 * nor max_tokens, this is sent: enough for a long answer, within every current Claude model's limit.
 */
export const DEFAULT_MAX_TOKENS = 4096;

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

// The chat fields this translation reads, and what each must be when set.
const TRANSLATED_FIELDS: Readonly<Record<string, FieldKind>> = {
  max_completion_tokens: 'positive integer',
  max_tokens: 'positive integer',
  stop: 'string or array of strings',
  user: 'string',
  n: 'positive integer',
  tools: 'array',
  parallel_tool_calls: 'boolean',
  response_format: 'object',
};

export function chatToAnthropicRequest(body: Json): Json {
  checkTranslatedFields(body, TRANSLATED_FIELDS);
  const system: Json[] = [];
  const messages: Json[] = [];
  // Consecutive user-side turns (tool results, then the user's next words) form one user message:
  // chat sends each tool result as its own message, Anthropic wants them as blocks of one user turn.
  const pushUser = (content: string | Json[]) => {
    const last = messages[messages.length - 1];
    if (last?.role !== 'user') {
      messages.push({ role: 'user', content });
      return;
    }
    const blocks = (c: unknown): Json[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : (c as Json[]));
    last.content = [...blocks(last.content), ...blocks(content)];
  };

  const list = Array.isArray(body.messages) ? body.messages : [];
  list.forEach((m, i) => {
    if (!isObject(m)) return;
    const at = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        // All instructions go to `system`, in order: the directive (the first system message) first.
        system.push(...textBlocks(m.content, at));
        break;
      case 'user':
        pushUser(typeof m.content === 'string' ? m.content : userBlocks(m.content, at));
        break;
      case 'assistant':
        messages.push({ role: 'assistant', content: assistantBlocks(m, at) });
        break;
      case 'tool':
        pushUser([{ type: 'tool_result', tool_use_id: nonEmptyString(m.tool_call_id, `${at}.tool_call_id`), content: toolResultContent(m.content, at) }]);
        break;
      default:
        throw bad(`${at}.role ${JSON.stringify(m.role)} cannot be sent to an Anthropic provider.`, `${at}.role`);
    }
  });
  if (messages.length === 0) throw bad('`messages` must contain a user message besides the system ones.', 'messages');

  const out: Json = { model: body.model, messages };
  if (system.length > 0) out.system = system;
  const max = body.max_completion_tokens ?? body.max_tokens;
  out.max_tokens = typeof max === 'number' ? max : DEFAULT_MAX_TOKENS;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  // temperature and top_p are not sent: the Messages API (SDK 1.14 MessageCreateParams) no longer
  // lists sampling parameters, and a deprecated field must not turn a caller's request into a 400.
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (typeof body.n === 'number' && body.n > 1) throw bad('`n` > 1 cannot be sent to an Anthropic provider.', 'n');
  // What the caller asks the model to do, not how: dropped, the reply would silently lack it.
  if ((body.audio ?? null) !== null || (Array.isArray(body.modalities) && body.modalities.includes('audio'))) {
    throw bad('Audio output cannot be asked of an Anthropic provider.', (body.audio ?? null) !== null ? 'audio' : 'modalities');
  }
  if ((body.web_search_options ?? null) !== null) throw bad('`web_search_options` (web search) cannot be sent to an Anthropic provider.', 'web_search_options');
  if (Array.isArray(body.tools) && body.tools.length > 0) out.tools = body.tools.map((t, i) => anthropicTool(t, `tools[${i}]`));
  const choice = anthropicToolChoice(body.tool_choice, body.parallel_tool_calls);
  if (choice && out.tools) out.tool_choice = choice;
  const format = anthropicOutputFormat(body.response_format);
  if (format) out.output_config = { format };
  if (body.stream === true) out.stream = true;
  return out;
}

/**
 * chat's `response_format` as Anthropic's structured outputs (`output_config.format`): a JSON schema
 * carries over, so the reply is held to it as the caller asked. `json_object` (any JSON) has no
 * Anthropic counterpart and, like `text`, is not sent.
 */
function anthropicOutputFormat(rf: unknown): Json | null {
  if (!isObject(rf) || rf.type === 'text' || rf.type === 'json_object') return null;
  if (rf.type !== 'json_schema') throw bad('`response_format.type` must be "text", "json_object" or "json_schema".', 'response_format.type');
  const schema = isObject(rf.json_schema) ? rf.json_schema.schema : undefined;
  if (!isObject(schema)) {
    throw bad('`response_format.json_schema.schema` must be an object (a JSON schema) for an Anthropic provider.', 'response_format.json_schema.schema');
  }
  return { type: 'json_schema', schema };
}

function textBlocks(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw bad(`${at}.content must be a string or an array of text parts.`, `${at}.content`);
  return content.map((p, k) => {
    if (!isObject(p) || p.type !== 'text' || typeof p.text !== 'string') throw bad(`${at}.content[${k}] must be a text part.`, `${at}.content`);
    return { type: 'text', text: p.text };
  });
}

function userBlocks(content: unknown, at: string): Json[] {
  if (!Array.isArray(content)) throw bad(`${at}.content must be a string or an array of content parts.`, `${at}.content`);
  return content.map((p, k) => {
    const where = `${at}.content[${k}]`;
    if (!isObject(p)) throw bad(`${where} must be an object.`, where);
    if (p.type === 'text') {
      if (typeof p.text !== 'string') throw bad(`${where}.text must be a string.`, `${where}.text`);
      return { type: 'text', text: p.text };
    }
    if (p.type === 'image_url') {
      const url = isObject(p.image_url) ? p.image_url.url : p.image_url;
      if (typeof url !== 'string') throw bad(`${where}.image_url.url must be a string.`, where);
      return { type: 'image', source: imageSource(url, where) };
    }
    if (p.type === 'file' && isObject(p.file) && typeof p.file.file_data === 'string') {
      const data = dataUrl(p.file.file_data);
      if (data?.mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
    }
    throw bad(`${where}: parts of type ${JSON.stringify(p.type)} cannot be sent to an Anthropic provider.`, where);
  });
}

function imageSource(url: string, where: string): Json {
  if (url.startsWith('data:')) {
    const data = dataUrl(url);
    if (!data) throw bad(`${where}: a data: URL image must be base64 (data:image/png;base64,…).`, where);
    return { type: 'base64', media_type: data.mediaType, data: data.data };
  }
  return { type: 'url', url };
}

function dataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^;,]*)*;base64,/i.exec(url);
  return m ? { mediaType: m[1]!.toLowerCase(), data: url.slice(m[0].length) } : null;
}

function toolResultContent(content: unknown, at: string): string | Json[] {
  if (typeof content === 'string') return content;
  return textBlocks(content, at);
}

function assistantBlocks(m: Json, at: string): Json[] | string {
  const blocks: Json[] = [];
  if (typeof m.content === 'string') {
    if (m.content !== '') blocks.push({ type: 'text', text: m.content });
  } else if (Array.isArray(m.content)) {
    m.content.forEach((p, k) => {
      if (isObject(p) && (p.type === 'text' || p.type === 'refusal')) {
        const t = p.type === 'text' ? p.text : p.refusal;
        if (typeof t === 'string' && t !== '') blocks.push({ type: 'text', text: t });
      } else throw bad(`${at}.content[${k}] must be a text or refusal part.`, `${at}.content`);
    });
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null && !Array.isArray(m.tool_calls)) {
    throw bad(`${at}.tool_calls must be an array of tool calls.`, `${at}.tool_calls`);
  }
  const calls = (m.tool_calls ?? []) as unknown[];
  calls.forEach((raw, k) => {
    if (!isObject(raw)) throw bad(`${at}.tool_calls[${k}] must be an object (a tool call).`, `${at}.tool_calls[${k}]`);
    const c = raw as ChatToolCall;
    const where = `${at}.tool_calls[${k}].function.arguments`;
    const id = nonEmptyString(c.id, `${at}.tool_calls[${k}].id`);
    const name = nonEmptyString(c.function?.name, `${at}.tool_calls[${k}].function.name`);
    blocks.push({ type: 'tool_use', id, name, input: toolInput(c.function?.arguments, where) });
  });
  // An assistant turn with nothing to say (a prefill of ''): keep it as the empty string.
  return blocks.length > 0 ? blocks : '';
}

function toolInput(args: unknown, where: string): unknown {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') throw bad(`${where} must be a JSON string.`, where);
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw bad(`${where} is not valid JSON.`, where);
  }
  if (!isObject(v)) throw bad(`${where} must be a JSON object (Anthropic tool input).`, where);
  return v;
}

function anthropicTool(t: unknown, at: string): Json {
  if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') {
    throw bad(`${at}: only function tools can be sent to an Anthropic provider.`, at);
  }
  const fn = t.function;
  const tool: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } };
  if (typeof fn.description === 'string') tool.description = fn.description;
  if (typeof fn.strict === 'boolean') tool.strict = fn.strict;
  return tool;
}

function anthropicToolChoice(tc: unknown, parallel: unknown): Json | null {
  let choice: Json | null = null;
  if (tc === 'auto') choice = { type: 'auto' };
  else if (tc === 'required') choice = { type: 'any' };
  else if (tc === 'none') choice = { type: 'none' };
  else if (isObject(tc) && isObject(tc.function) && typeof tc.function.name === 'string') choice = { type: 'tool', name: tc.function.name };
  else if (tc !== undefined && tc !== null) {
    throw bad('`tool_choice` must be "auto", "required", "none" or a function ({"type":"function","function":{"name":…}}) for an Anthropic provider.', 'tool_choice');
  }
  if (parallel === false) {
    choice ??= { type: 'auto' };
    if (choice.type !== 'none') choice.disable_parallel_tool_use = true;
  }
  return choice;
}

// ---- the reply ----

export interface ChatResponseOptions {
  /** `created` of the completion, in seconds (default: now) */
  created?: number;
  /** The model named in the reply (default: the Message's) */
  model?: string;
}

/** A Message as a chat.completion (thinking blocks are left out: chat has no place for them). */
export function anthropicToChatResponse(messageJson: unknown, opts: ChatResponseOptions = {}): Json {
  const m = (isObject(messageJson) ? messageJson : {}) as AnthropicMessage;
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  for (const b of Array.isArray(m.content) ? m.content : []) {
    if (!isObject(b)) continue;
    if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
    else if (b.type === 'tool_use') {
      toolCalls.push({ id: String(b.id ?? ''), type: 'function', function: { name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) } });
    }
  }
  const message: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: typeof m.id === 'string' ? m.id : '',
    object: 'chat.completion',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: opts.model ?? (typeof m.model === 'string' ? m.model : ''),
    choices: [{ index: 0, message, finish_reason: chatFinishReason(m.stop_reason) ?? 'stop', logprobs: null }],
    usage: chatUsageFromAnthropic(m.usage),
  };
}
