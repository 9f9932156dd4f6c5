// The OpenAI Chat Completions protocol (`POST /v1/chat/completions`): the exports every protocol folder
// provides (see ../types.ts).
export { parseRequest, type ChatBody } from './parse.js';
export { placeDirective, recordedInput } from './directive.js';
export { summarise } from './summarise.js';
export { createReassembler, parseChatSse } from './reassemble.js';
export { renderError, streamErrorEvent, type OpenAIErrorShape } from './errors.js';
export { usageFromOpenAI, type RawUsage } from './usage.js';
export { prepareUpstream, UsageChunkFilter } from './stream-usage.js';
export { withMaxTokensField } from './max-tokens-field.js';
