// The OpenAI Responses API (POST /v1/responses) as an inbound protocol: the conventional exports of a
// protocol folder (see ../types.ts) plus the translation to and from chat completions for providers
// that only speak chat.
export { continuedReply, parseRequest, sessionLink, type ResponsesBody } from './parse.js';
export { placeDirective, joinInstructions, callerInstructions, DIRECTIVE_SEPARATOR } from './directive.js';
export { recordedInput, type RecordedResponsesInput } from './record.js';
export { summarise, toUsage, type ResponsesReplyFacts } from './summarise.js';
export { createReassembler, type ResponsesReassembler, type ResponsesReassembly } from './reassemble.js';
export { renderError, streamErrorEvent } from './errors.js';
export { responsesToChatRequest, type ChatRequestOptions } from './translate-request.js';
export { chatToResponsesResponse, type TranslateOptions } from './translate-response.js';
export { createChatToResponsesStream } from './translate-stream.js';
export { newResponseId, responseIds } from './ids.js';
