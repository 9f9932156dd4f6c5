// A Responses request as a chat completions request, for providers that only speak chat (Anthropic
// through the chat translation, OpenAI-compatible servers without /responses). What chat cannot
// express is refused with a 400 naming the field, never dropped silently, except reasoning items
// (opaque to any other model) and settings that only concern OpenAI's storage (store, include).
import { IbexError } from '../../errors.js';
import { checkTranslatedFields, type FieldKind, nonEmptyString } from '../translated-fields.js';
import type { ResponsesBody } from './parse.js';

export interface ChatRequestOptions {
  /** The earlier turns' items (input and output, oldest first) when the body continues
   *  `previous_response_id` / `conversation`: chat completions keep no state, so ibex must send them */
  history?: unknown[];
}

type Obj = Record<string, unknown>;
export type ChatMessage = Obj & { role: string };

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const CHAT_DETAILS = new Set(['low', 'high', 'auto']);

// The Responses fields this translation reads, and what each must be when set.
const TRANSLATED_FIELDS: Readonly<Record<string, FieldKind>> = {
  tools: 'array',
  max_output_tokens: 'positive integer',
  top_logprobs: 'number',
  reasoning: 'object',
  text: 'object',
  temperature: 'number',
  top_p: 'number',
  parallel_tool_calls: 'boolean',
  user: 'string',
};

export function responsesToChatRequest(body: ResponsesBody, opts: ChatRequestOptions = {}): Obj {
  if ((body.conversation ?? null) !== null) {
    throw bad('`conversation` cannot be used with a model served through chat completions: send the whole conversation in `input`.', 'conversation');
  }
  const continues = typeof body.previous_response_id === 'string' && body.previous_response_id !== '';
  if (continues && opts.history === undefined) {
    throw bad(
      `\`previous_response_id\` ${JSON.stringify(body.previous_response_id)} is not a response this gateway keeps for a model served through chat completions (none was made here with that id, it was sent with \`store: false\`, or its turns are gone): send the whole conversation in \`input\`.`,
      'previous_response_id',
    );
  }
  if (body.prompt !== undefined && body.prompt !== null) throw bad('`prompt` (a stored prompt) cannot be used with a model served through chat completions.', 'prompt');
  if (body.background === true) throw bad('`background` cannot be used with a model served through chat completions.', 'background');

  checkTranslatedFields(body, TRANSLATED_FIELDS);
  if (isObject(body.text) && body.text.format !== undefined && body.text.format !== null && !isObject(body.text.format)) {
    throw bad('`text.format` must be an object ({"type":"text"}, {"type":"json_object"} or {"type":"json_schema",…}).', 'text.format');
  }
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  addItems(opts.history ?? [], 'input', messages);
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else addItems(body.input ?? [], 'input', messages);

  const chat: Obj = { model: body.model, messages };
  if (Array.isArray(body.tools)) chat.tools = body.tools.map((t, i) => chatTool(t, `tools[${i}]`));
  if (body.tool_choice !== undefined && body.tool_choice !== null) chat.tool_choice = chatToolChoice(body.tool_choice);
  copy(body, chat, ['temperature', 'top_p', 'parallel_tool_calls', 'user', 'service_tier', 'prompt_cache_key', 'safety_identifier']);
  if (typeof body.max_output_tokens === 'number') chat.max_completion_tokens = body.max_output_tokens;
  if (typeof body.top_logprobs === 'number') Object.assign(chat, { logprobs: true, top_logprobs: body.top_logprobs });
  if (isObject(body.reasoning) && typeof body.reasoning.effort === 'string') chat.reasoning_effort = body.reasoning.effort;
  if (isObject(body.text)) {
    const format = chatResponseFormat(body.text.format);
    if (format) chat.response_format = format;
    if (typeof body.text.verbosity === 'string') chat.verbosity = body.text.verbosity;
  }
  if (body.stream === true) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });
  return chat;
}

function copy(from: Obj, to: Obj, keys: string[]): void {
  for (const k of keys) if (from[k] !== undefined && from[k] !== null) to[k] = from[k];
}

function addItems(items: unknown[], path: string, out: ChatMessage[]): void {
  items.forEach((raw, i) => {
    const param = `${path}[${i}]`;
    if (!isObject(raw)) throw bad(`${param} must be an object (an input item).`, param);
    const type = raw.type ?? (typeof raw.role === 'string' ? 'message' : undefined);
    switch (type) {
      case 'message':
        out.push(chatMessage(raw, param));
        return;
      case 'function_call': {
        // Chat pairs a call with its output by id and needs the name and the arguments' text.
        nonEmptyString(raw.call_id, `${param}.call_id`);
        nonEmptyString(raw.name, `${param}.name`);
        if (typeof raw.arguments !== 'string') throw bad(`${param}.arguments must be a string (the call's JSON arguments).`, `${param}.arguments`);
        const call = { id: raw.call_id, type: 'function', function: { name: raw.name, arguments: raw.arguments } };
        const last = out[out.length - 1];
        // Parallel calls, and the text that came before them, are one assistant message in chat.
        if (last?.role === 'assistant') last.tool_calls = [...((last.tool_calls as unknown[] | undefined) ?? []), call];
        else out.push({ role: 'assistant', content: null, tool_calls: [call] });
        return;
      }
      case 'function_call_output':
        nonEmptyString(raw.call_id, `${param}.call_id`);
        out.push({ role: 'tool', tool_call_id: raw.call_id, content: toolOutput(raw.output, `${param}.output`) });
        return;
      case 'reasoning':
        return; // encrypted or provider-specific reasoning means nothing to another model
      default:
        throw bad(`${param}: items of type \`${String(type)}\` cannot be sent to a model served through chat completions.`, param);
    }
  });
}

function chatMessage(item: Obj, param: string): ChatMessage {
  const role = item.role;
  const content = item.content;
  if (role === 'assistant') {
    if (typeof content === 'string') return { role, content };
    let text: string | null = null;
    let refusal: string | null = null;
    for (const part of Array.isArray(content) ? content : []) {
      if (isObject(part) && (part.type === 'output_text' || part.type === 'input_text') && typeof part.text === 'string') text = (text ?? '') + part.text;
      else if (isObject(part) && part.type === 'refusal' && typeof part.refusal === 'string') refusal = (refusal ?? '') + part.refusal;
    }
    return refusal === null ? { role, content: text } : { role, content: text, refusal };
  }
  // `developer` is what newer OpenAI models call `system`; chat-only providers know only `system`.
  const chatRole = role === 'developer' ? 'system' : role;
  if (chatRole !== 'user' && chatRole !== 'system') throw bad(`${param}.role must be user, assistant, system or developer.`, `${param}.role`);
  if (typeof content === 'string') return { role: chatRole, content };
  if (!Array.isArray(content)) throw bad(`${param}.content must be a string or an array of content parts.`, `${param}.content`);
  const parts = content.map((p, j) => chatPart(p, `${param}.content[${j}]`));
  if (chatRole === 'system' && parts.some((p) => p.type !== 'text')) throw bad(`${param}: a ${String(role)} message may only hold text.`, `${param}.content`);
  return { role: chatRole, content: parts };
}

function chatPart(part: unknown, param: string): Obj {
  if (!isObject(part)) throw bad(`${param} must be a content part.`, param);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      if (typeof part.text !== 'string') throw bad(`${param}.text must be a string.`, `${param}.text`);
      return { type: 'text', text: part.text };
    case 'input_image': {
      if (typeof part.image_url !== 'string') throw bad(`${param}: only images given by \`image_url\` can be sent through chat completions.`, param);
      const detail = typeof part.detail === 'string' && CHAT_DETAILS.has(part.detail) ? { detail: part.detail } : {};
      return { type: 'image_url', image_url: { url: part.image_url, ...detail } };
    }
    case 'input_file': {
      if (typeof part.file_data !== 'string' && typeof part.file_id !== 'string') {
        throw bad(`${param}: only files given by \`file_data\` or \`file_id\` can be sent through chat completions.`, param);
      }
      const file: Obj = {};
      copy(part, file, ['file_data', 'file_id', 'filename']);
      return { type: 'file', file };
    }
    default:
      throw bad(`${param}: content of type \`${String(part.type)}\` cannot be sent through chat completions.`, param);
  }
}

function toolOutput(output: unknown, param: string): unknown {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) throw bad(`${param} must be a string or an array of content parts.`, param);
  return output.map((p, j) => {
    if (isObject(p) && (p.type === 'input_text' || p.type === 'output_text')) return { type: 'text', text: p.text };
    throw bad(`${param}[${j}]: a tool result sent through chat completions may only hold text.`, `${param}[${j}]`);
  });
}

function chatTool(tool: unknown, param: string): Obj {
  if (!isObject(tool) || tool.type !== 'function') {
    const type = isObject(tool) ? String(tool.type) : typeof tool;
    throw bad(`${param}: only function tools can be used with a model served through chat completions (got \`${type}\`).`, param);
  }
  const fn: Obj = { name: tool.name };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (isObject(tool.parameters)) fn.parameters = tool.parameters;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function chatToolChoice(choice: unknown): unknown {
  if (typeof choice === 'string') return choice;
  if (isObject(choice) && choice.type === 'function') return { type: 'function', function: { name: choice.name } };
  if (isObject(choice) && choice.type === 'allowed_tools' && Array.isArray(choice.tools)) {
    const tools = choice.tools.map((t, i) => {
      if (isObject(t) && t.type === 'function') return { type: 'function', function: { name: t.name } };
      throw bad('tool_choice: only function tools can be allowed through chat completions.', `tool_choice.tools[${i}]`);
    });
    return { type: 'allowed_tools', allowed_tools: { mode: choice.mode, tools } };
  }
  const type = isObject(choice) ? String(choice.type) : typeof choice;
  throw bad(`tool_choice of type \`${type}\` cannot be used with a model served through chat completions.`, 'tool_choice');
}

function chatResponseFormat(format: unknown): Obj | null {
  if (!isObject(format) || format.type === 'text') return null;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const schema: Obj = { name: format.name, schema: format.schema };
    if (typeof format.description === 'string') schema.description = format.description;
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    return { type: 'json_schema', json_schema: schema };
  }
  throw bad(`text.format of type \`${String(format.type)}\` cannot be used with a model served through chat completions.`, 'text.format');
}
