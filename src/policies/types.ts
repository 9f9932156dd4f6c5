// The policy interface (issue 17). A policy sees a request, its streamed reply and its final reply in
// a protocol-neutral shape (the normalised view, view.ts) and answers with a decision; the runner
// (run.ts) applies the decisions to the wire format and records each one. Hooks are optional: a
// policy that only guards requests implements onRequest alone and costs nothing on the stream.
//
// Every hook gets the same per-request scratch object (`state`), private to that policy, so a policy
// can carry what it learnt from the request into the stream (e.g. what it held back).
import type { PolicyDecisionRecord } from '../stores/ports.js';

/** A message of the request, reduced to what policies judge: its role and its text. */
export interface PolicyMessage {
  /** `system` (also OpenAI `developer`, Responses `instructions`, Anthropic `system`), `user`, `assistant`, `tool` */
  readonly role: string;
  /** The text parts joined (no separator); '' when the message has no text */
  readonly text: string;
}

/** A tool the request declares. */
export interface PolicyTool {
  readonly name: string;
}

/** A tool call: in the conversation so far (request) or made by the model (reply). */
export interface PolicyToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as the JSON text the model produced */
  readonly arguments: string;
}

/** The request as every policy sees it, whatever the wire format (read-only: changes go in a decision). */
export interface PolicyRequest {
  /** `openai-chat`, `openai-responses`, `anthropic-messages`, `openai-completions`, … */
  readonly protocol: string;
  readonly agent: string;
  /** The model as the caller named it (before alias resolution) */
  readonly model: string;
  readonly stream: boolean;
  /** The reply size limit the caller asked for (`max_tokens`, `max_completion_tokens`, `max_output_tokens`); null when unset */
  readonly maxTokens: number | null;
  readonly messages: readonly PolicyMessage[];
  readonly tools: readonly PolicyTool[];
  /** Tool calls the assistant made earlier in the conversation */
  readonly toolCalls: readonly PolicyToolCall[];
}

/** What a policy may change in a request. Each field is written back into the protocol's own body. */
export interface RequestChanges {
  model?: string;
  maxTokens?: number;
  /** Rewrites every text of the request (messages, system/instructions, text parts) */
  mapText?: (text: string, role: string) => string;
  /** Tool definitions to drop from the request */
  removeTools?: readonly string[];
}

export type RequestDecision =
  | { action: 'pass' }
  | ({ action: 'modify'; note?: string } & RequestChanges)
  | { action: 'reject'; reason: string };

/**
 * One piece of a streamed reply, in the order the provider sent it.
 * - `text`: a text delta of output `index` (a choice, an output part, a content block). `final` is
 *   set on the call that flushes what the policy held back at the end of that output: the policy
 *   must not hold then.
 * - `tool_call`: a tool call delta: `name` on the first delta of a call, `arguments` pieces after.
 * - `end`: the reply is complete (before its terminal event is forwarded): the last chance to stop.
 */
export type StreamChunk =
  | { kind: 'text'; index: number; text: string; final?: boolean }
  | { kind: 'tool_call'; index: number; id?: string; name?: string; arguments: string }
  | { kind: 'end' };

/**
 * - `pass`: forward as it came.
 * - `replace`: forward `text` instead of a text delta; `hold` is kept back and offered again in
 *   front of the next delta of the same output (a bounded look-behind, e.g. a PII match that may
 *   continue in the next chunk).
 * - `hold`: forward nothing yet. For text: the delta is offered again with the next one (and with
 *   `final` at the end of the output). For a tool call or `end`: everything after is held until this
 *   policy passes a later chunk (a gate, e.g. while a judge decides).
 * - `stop`: end the stream now with an in-band `policy_violation` error.
 */
export type ChunkDecision =
  | { action: 'pass' }
  | { action: 'replace'; text: string; hold?: string; note?: string }
  | { action: 'hold' }
  | { action: 'stop'; reason: string };

/** The final, complete reply (non-streamed), as ReplyFacts name it. */
export interface PolicyResponse {
  readonly protocol: string;
  readonly agent: string;
  readonly model: string;
  readonly text: string | null;
  readonly toolCalls: readonly PolicyToolCall[];
  readonly finishReason: string | null;
}

export type ResponseDecision =
  | { action: 'pass' }
  | { action: 'modify'; mapText: (text: string) => string; note?: string }
  | { action: 'reject'; reason: string };

/** Per-request scratch of one policy (the same object in every hook of one request). */
export type PolicyState = Record<string, unknown>;

type MaybePromise<T> = T | Promise<T>;

export interface Policy {
  /** Shown in decisions and errors (`pii-redact`, `./policies/no-urls.mjs`) */
  readonly name: string;
  onRequest?(req: PolicyRequest, state: PolicyState): MaybePromise<RequestDecision>;
  /** Called per stream piece; must cost O(piece) (hold back a bounded tail, never the whole reply unless it must) */
  onChunk?(chunk: StreamChunk, state: PolicyState): MaybePromise<ChunkDecision>;
  /** Called once with a non-streamed reply; a streamed reply is seen through onChunk instead */
  onResponse?(res: PolicyResponse, state: PolicyState): MaybePromise<ResponseDecision>;
}

/** What built-ins and custom modules get besides their options. */
export interface PolicyEnv {
  /** The folder relative paths in options are resolved against (ibex.yaml's folder) */
  readonly baseDir: string;
  /**
   * Sends a chat completion through ibex itself (the judge). Absent when the gateway offers none.
   * Resolves to the reply text; rejects on any failure.
   */
  readonly chat?: (req: { agent: string; model: string; messages: { role: string; content: string }[] }) => Promise<string>;
}

/** A policy module's default export (or `createPolicy` export): options from ibex.yaml → Policy. */
export type PolicyFactory = (options: Readonly<Record<string, unknown>>, env: PolicyEnv) => MaybePromise<Policy>;

/** One recorded decision: which policy changed, held or blocked what (kept by the stores: ports.ts). */
export type { PolicyDecisionRecord };

/** Decisions on one line, for a log, a span or the CLI: `pii-redact request modify: redacted 1 email; …`. */
export function describeDecisions(list: readonly PolicyDecisionRecord[]): string {
  return list.map((d) => `${d.policy} ${d.phase} ${d.action}: ${d.detail}`).join('; ');
}

export const pass = (): { action: 'pass' } => ({ action: 'pass' });
