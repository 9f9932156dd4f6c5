// The Anthropic Messages protocol (`POST /v1/messages`, `/v1/messages/count_tokens`): the exports every
// protocol folder provides (see ../types.ts), plus the translators to and from OpenAI chat completions.
export { parseRequest, parseCountTokensRequest, type MessagesBody, type CountTokensBody } from './parse.js';
export { placeDirective, countBreakpoints, MAX_CACHE_BREAKPOINTS, type PlaceDirectiveOptions } from './directive.js';
export { recordedInput, type RecordedInput } from './record.js';
export { summarise } from './summarise.js';
export { createReassembler } from './reassemble.js';
export {
  renderError,
  streamErrorEvent,
  anthropicErrorType,
  errorInputFromAnthropic,
  type AnthropicErrorBody,
} from './errors.js';
export { usageFromAnthropic, anthropicUsageFromChat, chatUsageFromAnthropic } from './usage.js';
export { chatFinishReason, anthropicStopReason } from './stop-reasons.js';
// Anthropic caller → OpenAI-compatible provider
export { anthropicToChatRequest, chatToAnthropicResponse } from './translate-to-chat.js';
export { createChatToAnthropicStream, type ChatToAnthropicStreamOptions } from './translate-to-chat-stream.js';
// OpenAI chat caller → Anthropic provider
export { chatToAnthropicRequest, anthropicToChatResponse, DEFAULT_MAX_TOKENS, type ChatResponseOptions } from './translate-from-chat.js';
export { createAnthropicToChatStream, type AnthropicToChatStreamOptions } from './translate-from-chat-stream.js';
