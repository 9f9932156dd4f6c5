// Anthropic caller → OpenAI-compatible provider: the Messages request as a chat completion request,
// and the chat completion reply as a Message. (The streamed reply: translate-to-chat-stream.ts.)
//
// What has no counterpart is dropped, not refused, when it only tunes the answer (cache_control,
// top_k, thinking, citations, container); content the model would need to see and that chat cannot
// carry (server tools and MCP servers, non-PDF documents, file ids) is refused with a 400 naming the field.
import { IbexError } from '../../errors.js';
import { anthropicStopReason } from './stop-reasons.js';
import { anthropicUsageFromChat } from './usage.js';
import { checkTranslatedFields, type FieldKind } from '../translated-fields.js';
import { isObject, type ChatCompletion, type ChatToolCall, type Json } from './wire.js';

export { createChatToAnthropicStream } from './translate-to-chat-stream.js';

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

// The Messages fields this translation reads, and what each must be when set.
const TRANSLATED_FIELDS: Readonly<Record<string, FieldKind>> = {
  stop_sequences: 'array of strings',
  temperature: 'number',
  top_p: 'number',
  metadata: 'object',
  tools: 'array',
  tool_choice: 'object',
  output_config: 'object',
};

export function anthropicToChatRequest(body: Json): Json {
  checkTranslatedFields(body, TRANSLATED_FIELDS);
  // The MCP connector's servers are tools Anthropic runs: without them the model would answer as if
  // it had none, so they are refused like the other server tools.
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) {
    throw bad('mcp_servers: the MCP connector cannot be used with a model served through an OpenAI-compatible provider.', 'mcp_servers');
  }
  const messages: Json[] = [];
  for (const block of systemBlocks(body.system)) messages.push({ role: 'system', content: block });
  const list = Array.isArray(body.messages) ? body.messages : [];
  list.forEach((m, i) => {
    if (!isObject(m)) return;
    if (m.role === 'assistant') messages.push(assistantMessage(m.content, `messages[${i}]`));
    else if (m.role === 'system') for (const t of systemBlocks(m.content)) messages.push({ role: 'system', content: t });
    else messages.push(...userMessages(m.content, `messages[${i}]`));
  });

  const out: Json = { model: body.model, messages };
  // OpenAI's current field (as for Responses callers): its reasoning models (o-series, gpt-5) refuse
  // `max_tokens`, so Claude Code pointed at one through ibex would get a 400 for every request.
  if (typeof body.max_tokens === 'number') out.max_completion_tokens = body.max_tokens;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  if (body.temperature !== undefined) out.temperature = body.temperature;
  if (body.top_p !== undefined) out.top_p = body.top_p;
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string') out.user = body.metadata.user_id;
  if (Array.isArray(body.tools) && body.tools.length > 0) out.tools = body.tools.map((t, i) => chatTool(t, `tools[${i}]`));
  if (isObject(body.tool_choice)) Object.assign(out, chatToolChoice(body.tool_choice, out.tools !== undefined));
  const format = chatResponseFormat(body.output_config);
  if (format) out.response_format = format;
  if (body.stream === true) {
    out.stream = true;
    // Anthropic streams always end with usage; OpenAI sends it only when asked.
    out.stream_options = { include_usage: true };
  }
  return out;
}

/**
 * Anthropic's structured outputs (`output_config.format`) as chat's `response_format`, strict as
 * Anthropic's are. `output_config.effort` only tunes the answer (and chat models without reasoning
 * refuse `reasoning_effort`): not sent.
 */
function chatResponseFormat(config: unknown): Json | null {
  if (!isObject(config) || config.format === undefined || config.format === null) return null;
  const f = config.format;
  if (!isObject(f) || f.type !== 'json_schema' || !isObject(f.schema)) {
    throw bad('`output_config.format` must be {"type":"json_schema","schema":{…}}.', 'output_config.format');
  }
  return { type: 'json_schema', json_schema: { name: 'output', schema: f.schema, strict: true } };
}

/**
 * System text, one string per block: each becomes its own system message, so the directive stays a
 * message of its own before the caller's (as on the OpenAI path).
 */
function systemBlocks(system: unknown): string[] {
  if (typeof system === 'string') return system === '' ? [] : [system];
  if (!Array.isArray(system)) return [];
  return system.filter((b): b is Json => isObject(b) && typeof b.text === 'string').map((b) => b.text as string);
}

/**
 * A user turn: tool_result blocks become `tool` messages, placed first (chat wants them right after
 * the assistant's tool_calls), then the other blocks as one user message.
 */
function userMessages(content: unknown, where: string): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const tools: Json[] = [];
  const parts: Json[] = [];
  (Array.isArray(content) ? content : []).forEach((b, j) => {
    if (!isObject(b)) return;
    const at = `${where}.content[${j}]`;
    if (b.type === 'tool_result') {
      const result = toolResult(b, at);
      tools.push({ role: 'tool', tool_call_id: b.tool_use_id, content: result.text });
      // chat's tool messages carry text only; images of a result follow as the user's
      parts.push(...result.images);
    } else {
      const part = userPart(b, at);
      if (part) parts.push(part);
    }
  });
  return parts.length > 0 ? [...tools, { role: 'user', content: parts }] : tools;
}

function userPart(b: Json, at: string): Json | null {
  switch (b.type) {
    case 'text':
      if (typeof b.text !== 'string') throw bad(`${at}.text must be a string.`, `${at}.text`);
      return { type: 'text', text: b.text };
    case 'image':
      return { type: 'image_url', image_url: { url: imageUrl(b.source, at) } };
    case 'document': {
      const s = isObject(b.source) ? b.source : {};
      if (s.type === 'text' && typeof s.data === 'string') return { type: 'text', text: s.data };
      if (s.type === 'base64' && s.media_type === 'application/pdf') {
        return { type: 'file', file: { filename: typeof b.title === 'string' ? b.title : 'document.pdf', file_data: `data:application/pdf;base64,${String(s.data)}` } };
      }
      throw bad(`${at}: this document source cannot be sent to an OpenAI-compatible provider.`, at);
    }
    case 'thinking':
    case 'redacted_thinking':
      return null;
    default:
      throw bad(`${at}: content blocks of type ${JSON.stringify(b.type)} cannot be sent to an OpenAI-compatible provider.`, at);
  }
}

function imageUrl(source: unknown, at: string): string {
  const s = isObject(source) ? source : {};
  if (s.type === 'base64') return `data:${String(s.media_type)};base64,${String(s.data)}`;
  if (s.type === 'url' && typeof s.url === 'string') return s.url;
  throw bad(`${at}: image sources of type ${JSON.stringify(s.type)} cannot be sent to an OpenAI-compatible provider.`, at);
}

function toolResult(b: Json, at: string): { text: string; images: Json[] } {
  const texts: string[] = [];
  const images: Json[] = [];
  if (typeof b.content === 'string') texts.push(b.content);
  else if (Array.isArray(b.content)) {
    b.content.forEach((c, k) => {
      if (!isObject(c)) return;
      if (c.type === 'text' && typeof c.text === 'string') texts.push(c.text);
      else if (c.type === 'image') images.push({ type: 'image_url', image_url: { url: imageUrl(c.source, `${at}.content[${k}]`) } });
      else throw bad(`${at}.content[${k}]: tool results of type ${JSON.stringify(c.type)} cannot be sent to an OpenAI-compatible provider.`, at);
    });
  }
  const text = texts.join('\n');
  // chat has no is_error: say it in the text, where the model reads it
  return { text: b.is_error === true ? `Error: ${text}` : text, images };
}

function assistantMessage(content: unknown, where: string): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  (Array.isArray(content) ? content : []).forEach((b, j) => {
    if (!isObject(b)) return;
    if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
    else if (b.type === 'tool_use') {
      toolCalls.push({ id: String(b.id), type: 'function', function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') {
      const at = `${where}.content[${j}]`;
      throw bad(`${at}: content blocks of type ${JSON.stringify(b.type)} cannot be sent to an OpenAI-compatible provider.`, at);
    }
  });
  const msg: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return msg;
}

function chatTool(t: unknown, at: string): Json {
  if (!isObject(t) || (t.type !== undefined && t.type !== null && t.type !== 'custom') || typeof t.name !== 'string') {
    throw bad(`${at}: only custom tools (name, input_schema) can be sent to an OpenAI-compatible provider.`, at);
  }
  const fn: Json = { name: t.name, parameters: t.input_schema ?? { type: 'object', properties: {} } };
  if (typeof t.description === 'string') fn.description = t.description;
  if (typeof t.strict === 'boolean') fn.strict = t.strict;
  return { type: 'function', function: fn };
}

function chatToolChoice(tc: Json, hasTools: boolean): Json {
  const out: Json = {};
  if (tc.type === 'auto') out.tool_choice = 'auto';
  else if (tc.type === 'any') out.tool_choice = 'required';
  else if (tc.type === 'none') out.tool_choice = 'none';
  else if (tc.type === 'tool' && typeof tc.name === 'string' && tc.name !== '') out.tool_choice = { type: 'function', function: { name: tc.name } };
  else throw bad('`tool_choice.type` must be "auto", "any", "none" or "tool" (with a `name`).', 'tool_choice');
  // OpenAI refuses parallel_tool_calls without tools
  if (tc.disable_parallel_tool_use === true && hasTools) out.parallel_tool_calls = false;
  return out;
}

// ---- the reply ----

/**
 * A chat.completion as a Message. The id is the provider's, unchanged (so it matches its logs);
 * `model` is the name the caller asked for. Tool arguments that are not JSON are kept as their text
 * in `input` rather than lost.
 */
export function chatToAnthropicResponse(chatJson: unknown, requestModel: string): Json {
  const c = (isObject(chatJson) ? chatJson : {}) as ChatCompletion;
  const choice = Array.isArray(c.choices) ? c.choices[0] : undefined;
  const message = choice?.message ?? {};
  const content: Json[] = [];
  const text = [message.content, message.refusal].filter((t): t is string => typeof t === 'string' && t !== '').join('');
  if (text !== '') content.push({ type: 'text', text, citations: null });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    content.push({ type: 'tool_use', id: call.id ?? '', name: call.function?.name ?? '', input: parseArguments(call.function?.arguments) });
  }
  const stopReason = typeof message.refusal === 'string' && message.refusal !== '' ? 'refusal' : anthropicStopReason(choice?.finish_reason ?? 'stop');
  return {
    id: typeof c.id === 'string' ? c.id : '',
    type: 'message',
    role: 'assistant',
    model: requestModel,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: anthropicUsageFromChat(c.usage),
  };
}

export function parseArguments(args: string | undefined): unknown {
  if (args === undefined || args === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}
