// What a mock route is: the router (server.ts) reads and records the request, checks auth,
// validates, applies faults, and only then asks the route for its reply. Routes are pure-ish
// functions of the request (plus the response store), so their shapes are unit-testable.

import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { RequestFaults } from './faults.js';
import type { RecordedRequest } from './stats.js';

/** The SSE events of one streamed reply, as the strings to write. */
export interface SseReply {
  /** written at once, with the headers (e.g. role/created events + the first delta) */
  first: string;
  /** written one by one, `chunkIntervalMs` apart */
  rest: string[];
  /** written together after the last of `rest` (stop events, usage, [DONE]) */
  tail: string;
}

export type Reply =
  | { kind: 'json'; json: string }
  | { kind: 'sse'; sse: SseReply }
  | { kind: 'error'; status: number; message: string; param?: string | null; code?: string | null };

export interface Call {
  req: http.IncomingMessage;
  rec: RecordedRequest;
  /** the parsed JSON body; `{}` for routes without one */
  body: Record<string, unknown>;
  /** decoded path parameters, e.g. the response id */
  params: string[];
  query: URLSearchParams;
  faults: RequestFaults;
}

export interface Route {
  /** reads a JSON object body (else the route takes none) */
  body: boolean;
  /** a model call: `failRate` applies (listing models, counting tokens and lookups are exempt) */
  model: boolean;
  /** the request asks for a stream: TTFB pacing instead of latency */
  stream?: (body: Record<string, unknown>) => boolean;
  /** refuses a bad request before any fault applies (400/404); undefined when fine */
  validate?: (call: Omit<Call, 'faults'>) => Reply | undefined;
  reply: (call: Call) => Reply;
}

export function errorReply(status: number, message: string, param: string | null = null, code?: string | null): Reply {
  return { kind: 'error', status, message, param, code };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Id maker: unique per server instance, so ids from two mocks in one test never collide. */
export class Ids {
  private readonly tag = 'mock' + randomBytes(4).toString('hex');
  private n = 0;

  next(prefix: string): string {
    return prefix + this.tag + (++this.n).toString(36);
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Deterministic token estimate (~4 characters per token, OpenAI's rule of thumb), at least 1. */
export function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** One SSE event of a stream being built; `delta` marks the events pacing spaces out. */
export interface PacedEvent {
  text: string;
  delta: boolean;
}

/**
 * Groups events for pacing: everything up to the first delta goes out with the headers; each
 * later delta is one paced write, carrying the non-delta events just before it (e.g. the next
 * item's "added" event); what follows the last delta is the tail.
 */
export function paceEvents(events: PacedEvent[]): SseReply {
  let i = events.findIndex((e) => e.delta);
  if (i === -1) return { first: events.map((e) => e.text).join(''), rest: [], tail: '' };
  const first = events.slice(0, i + 1).map((e) => e.text).join('');
  const rest: string[] = [];
  let pending = '';
  for (i++; i < events.length; i++) {
    const e = events[i]!;
    pending += e.text;
    if (e.delta) {
      rest.push(pending);
      pending = '';
    }
  }
  return { first, rest, tail: pending };
}

/** A named SSE event (`event:` + `data:` lines), as the Responses and Anthropic streams send them. */
export function namedEvent(type: string, data: object): string {
  return 'event: ' + type + '\ndata: ' + JSON.stringify(data) + '\n\n';
}
