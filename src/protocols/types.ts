// The canonical types where inbound protocols (src/protocols/<wire-format>/) and providers meet.
// A protocol never imports a provider and a provider never imports a protocol: both speak these.
//
// Each protocol folder exports, by convention (see docs/architecture.md):
//   parseRequest(body)            validate the caller's body → ParsedRequest (throws IbexError 400)
//   placeDirective(body, text)    a new body with the directive first, the caller's own instructions after
//   recordedInput(body)           what the checkpoint stores as the request's input
//   summarise(json)               ReplyFacts of a complete (non-streamed) reply
//   createReassembler(maxBytes)   a StreamReassembler for a streamed reply of that protocol
//   renderError(e)                the error body in the protocol's own shape
//   streamErrorEvent(e)           the bytes that end a started stream with an in-band error
// Translators between two wire formats live in the folder of the inbound protocol they serve.
import type { Usage } from '../stores/ports.js';

/** The wire formats ibex speaks with callers (inbound) and providers (outbound). */
export type WireFormat = 'openai-chat' | 'openai-responses' | 'anthropic-messages';

export interface ParsedRequest<B = Record<string, unknown>> {
  /** The model as the caller named it (an alias or public name; routing resolves it) */
  model: string;
  stream: boolean;
  /** The validated body, untouched: every field the caller sent passes through */
  body: B;
}

/** One tool call of a reply, in a protocol-neutral shape. */
export interface CanonicalToolCall {
  id: string;
  name: string;
  /** The arguments as the JSON text the model produced (may be partial if the stream was cut) */
  arguments: string;
}

/** What the recorders need to know about a reply, whatever wire format carried it. */
export interface ReplyFacts {
  /** The assistant's text, concatenated across content parts; null when there was none */
  text: string | null;
  toolCalls: CanonicalToolCall[];
  /** Why generation stopped, in the protocol's own vocabulary (`stop`, `end_turn`, `completed`…) */
  finishReason: string | null;
  usage: Usage | null;
  /** The message of an error the upstream reported inside the stream or body, if any */
  streamError: string | null;
  /** true when the reply reached its terminal event ([DONE], response.completed, message_stop) */
  completed: boolean;
  /** The provider's id of the reply (`chatcmpl-…`, `resp_…`, `msg_…`), when it has one */
  responseId: string | null;
}

/**
 * Rebuilds ReplyFacts from the bytes of a streamed reply as they are forwarded. push() must cost
 * O(chunk) (it may only buffer, or parse the complete lines of this chunk); finish() is called once.
 */
export interface StreamReassembler extends SentEvents {
  push(chunk: Buffer): void;
  finish(): ReplyFacts & { truncated: boolean; bytes: number };
}

/** What a stream reader knows of the events a caller already got, for an in-band error to follow them. */
export interface SentEvents {
  /**
   * Protocols whose events are numbered (Responses' `sequence_number`): the highest number seen so
   * far (-1 before any). Absent elsewhere.
   */
  readonly lastSequenceNumber?: number;
}

/**
 * A stateful translator of one SSE dialect into another (e.g. OpenAI chat chunks → Anthropic
 * events). push() takes upstream bytes (any split, even mid-line) and returns what to send to the
 * caller now (possibly ''); end() returns the closing bytes once the upstream ended.
 */
export interface StreamTranslator {
  push(chunk: Buffer): string;
  end(): string;
}

/**
 * Removes what ibex itself asked the provider for from a streamed reply before the caller gets it
 * (e.g. the usage chunk of a chat stream whose caller did not ask for usage). push() costs O(chunk)
 * and returns the bytes to send now (maybe none: a partial event is held until it is whole); end()
 * returns what is still held once the upstream ended. Everything else passes byte for byte.
 */
export interface StreamFilter {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/** The body to forward, and the filter that undoes, for the caller, what was added to it. */
export interface UpstreamPreparation<B> {
  body: B;
  strip?: StreamFilter;
}

/** An error to render in the caller's protocol (built from a catalog entry or an upstream error). */
export interface ProtocolErrorInput {
  status: number;
  /** OpenAI-style `code` (`invalid_api_key`, `upstream_error`…) */
  code: string;
  /** OpenAI-style `type` (`invalid_request_error`, `api_error`…) */
  type: string;
  message: string;
  param?: string | null;
}

/**
 * An inbound protocol as the core pipeline sees it: one object per wire format a caller may speak,
 * built in the protocol's folder (`protocol.ts`) from the conventional exports above.
 */
/** One turn as its continuations resend it (InboundProtocol.turnItems). */
export interface TurnItems {
  /** The request's input items: the last `input.length` of recordedMessages(body) */
  input: unknown[];
  /** The reply as output items */
  output: unknown[];
}

export interface InboundProtocol<B = Record<string, unknown>> {
  /** `openai-chat`, `openai-responses`, … (logs and records) */
  readonly name: string;
  /** The path under a provider's base URL that takes this protocol's requests as they are */
  readonly upstreamPath: string;
  /** Whether the protocol has a model field the gateway routes on (moderations may omit it) */
  parseRequest(body: unknown): ParsedRequest<B>;
  /** Absent: the protocol carries no directive (embeddings, legacy completions, moderations) */
  placeDirective?(body: B, text: string | null): B;
  /**
   * Asks the provider to keep the placed directive in its prompt cache (issue 15, opt-in per agent):
   * OpenAI → `prompt_cache_key` = `key` unless the caller set one; Anthropic → a `cache_control`
   * breakpoint after the directive. Absent: the protocol has no such hint.
   */
  cachePrompt?(body: B, key: string): B;
  /** The request's input as the checkpoint stores it; absent: no checkpoint (not a conversation turn) */
  recordedMessages?(body: B): unknown[];
  /** An id in the body that continues an earlier exchange (`previous_response_id`, `conversation`) */
  sessionLink?(body: B): string | null;
  /**
   * The earlier reply the request continues by its id (`previous_response_id`), when that is its
   * link: a reply exists, and another gateway process may have just served it. null otherwise (a
   * `conversation` id is not a reply).
   */
  continuedReply?(body: B): string | null;
  /**
   * The items of this turn that a later one continuing it by id needs: its input (the tail of
   * recordedMessages), then the reply's output. ibex keeps them for a turn it translated (the
   * provider keeps no state, pipeline/translated-turns.ts); null when the caller asked that nothing
   * be stored. Absent: the protocol has no such continuation.
   */
  turnItems?(body: B, reply: Pick<ReplyFacts, 'text' | 'toolCalls'>): TurnItems | null;
  /**
   * The body with the earlier turns' items (kept by ibex, see turnItems) in place of the id it
   * continues: how a continuation of a translated turn reaches a provider that takes the protocol as
   * it is (a fallback target, or a model moved to another provider), which never saw those turns.
   */
  withHistory?(body: B, history: unknown[]): B;
  /**
   * Changes the validated body before it is forwarded so the reply carries what ibex needs (usage on
   * every stream); absent: the body goes as the caller sent it. A new filter per call.
   */
  prepareUpstream?(body: B): UpstreamPreparation<B>;
  summarise(json: unknown): ReplyFacts;
  createReassembler(maxBytes: number): StreamReassembler;
  renderError(e: ProtocolErrorInput): unknown;
  /**
   * Caller headers passed on to a provider that takes this protocol as it is (never to one it is
   * translated for): the API's feature flags, e.g. Anthropic's `anthropic-beta` (pipeline/caller-headers.ts)
   */
  readonly forwardedHeaders?: readonly string[];
  /** `sent`: what the caller got so far (the tap, a policy filter), for protocols whose events are numbered */
  streamErrorEvent(e: ProtocolErrorInput, sent?: SentEvents): string;
}
