// The Responses API routes: create (plain, streamed, background), retrieve, delete, cancel,
// input_items and input_tokens. Created responses are kept in a bounded store so GET,
// input_items and previous_response_id chains work (`store: false` keeps none, like OpenAI).
//
// Usage: input_tokens = tokens of the JSON of {instructions, input} plus, with
// previous_response_id, the whole earlier context (its input + output tokens), which is
// then also reported as `cached_tokens` (a reused prefix is what OpenAI caches).

import {
  functionCallItem,
  inputItems,
  messageItem,
  responseEchoText,
  responseEvents,
  responseObject,
  responsesLastUserText,
  responseUsage,
  type FunctionCall,
} from './openai-responses.js';
import type { ResponseStore, StoredResponse } from './response-store.js';
import { errorReply, Ids, nowSeconds, paceEvents, tokensOf, type Call, type Reply, type Route } from './route.js';
import { jsonReplyText, triggeredCalls } from './tool-trigger.js';

const DEFAULT_MODEL = 'gpt-4o-mini';

function notFound(id: string): Reply {
  return errorReply(404, `Response with id '${id}' not found.`, null);
}

function json(value: unknown): Reply {
  return { kind: 'json', json: JSON.stringify(value) };
}

/** Tokens of the earlier context a previous_response_id pulls in (0 without one). */
function previousContext(store: ResponseStore, body: Record<string, unknown>): number | Reply {
  const prev = body.previous_response_id;
  if (prev === undefined || prev === null) return 0;
  const entry = typeof prev === 'string' ? store.get(prev) : undefined;
  if (!entry) {
    return errorReply(400, `Previous response with id '${String(prev)}' not found.`, 'previous_response_id', 'previous_response_not_found');
  }
  return entry.contextTokens;
}

function validateCreate(store: ResponseStore) {
  return ({ body }: Omit<Call, 'faults'>): Reply | undefined => {
    if (typeof body.model !== 'string' || body.model === '') return errorReply(400, "Missing required parameter: 'model'.", 'model');
    const input = body.input;
    if (input !== undefined && typeof input !== 'string' && !Array.isArray(input)) {
      return errorReply(400, "Invalid type for 'input': expected a string or an array of input items.", 'input');
    }
    const prev = previousContext(store, body);
    return typeof prev === 'number' ? undefined : prev;
  };
}

/** Returns a stored response, turning a background one into its completed form on first look. */
function current(entry: StoredResponse): Record<string, unknown> {
  if (entry.completed && entry.response.status !== 'cancelled') {
    entry.response = entry.completed;
    entry.completed = undefined;
  }
  return entry.response;
}

export function responsesRoutes(ids: Ids, store: ResponseStore) {
  const create: Route = {
    body: true,
    model: true,
    stream: (body) => body.stream === true,
    validate: validateCreate(store),
    reply: ({ body, faults }) => {
      const id = ids.next('resp_');
      const createdAt = nowSeconds();
      const model = body.model as string;
      const prevTokens = previousContext(store, body) as number;
      const inputTokens = tokensOf(JSON.stringify({ instructions: body.instructions ?? null, input: body.input ?? null })) + prevTokens;

      const specs = triggeredCalls(body, responsesLastUserText(body.input));
      const calls: FunctionCall[] | undefined = specs?.map((s) => ({ ...s, id: ids.next('fc_'), call_id: ids.next('call_') }));
      const text = calls ? undefined : { id: ids.next('msg_'), text: jsonReplyText(responsesLastUserText(body.input)) ?? responseEchoText(body) };
      const output = calls ? calls.map((c) => functionCallItem(c, 'completed')) : [messageItem(text!.id, text!.text, 'completed')];
      const outputTokens = calls ? tokensOf(calls.map((c) => c.name + c.arguments).join('')) : tokensOf(text!.text);
      const usage = responseUsage(inputTokens, outputTokens, prevTokens);

      const base = { id, createdAt, model, body };
      const completed = responseObject({ ...base, status: 'completed', output, usage });
      const background = body.background === true;
      if (body.store !== false) {
        store.put(id, {
          response: background ? responseObject({ ...base, status: 'queued', output: [], usage: null }) : completed,
          completed: background ? completed : undefined,
          inputItems: inputItems(body.input, (p) => ids.next(p)),
          contextTokens: inputTokens + outputTokens,
          background,
        });
      }
      if (body.stream === true) {
        const inProgress = responseObject({ ...base, status: 'in_progress', output: [], usage: null });
        return { kind: 'sse', sse: paceEvents(responseEvents(inProgress, completed, { text, calls }, faults.chunks)) };
      }
      return json(background ? store.get(id)?.response ?? completed : completed);
    },
  };

  const inputTokens: Route = {
    body: true,
    model: false,
    validate: ({ body }) => {
      const prev = previousContext(store, body);
      return typeof prev === 'number' ? undefined : prev;
    },
    reply: ({ body }) => {
      const prev = previousContext(store, body) as number;
      const tokens = tokensOf(JSON.stringify({ instructions: body.instructions ?? null, input: body.input ?? null })) + prev;
      return json({ object: 'response.input_tokens', input_tokens: tokens });
    },
  };

  const lookup = ({ params }: Omit<Call, 'faults'>) => (store.get(params[0]!) ? undefined : notFound(params[0]!));

  const retrieve: Route = { body: false, model: false, validate: lookup, reply: ({ params }) => json(current(store.get(params[0]!)!)) };

  const remove: Route = {
    body: false,
    model: false,
    validate: lookup,
    reply: ({ params }) => {
      store.delete(params[0]!);
      return json({ id: params[0], object: 'response', deleted: true });
    },
  };

  const cancel: Route = {
    body: false,
    model: false,
    validate: lookup,
    reply: ({ params }) => {
      const entry = store.get(params[0]!)!;
      if (!entry.background) return errorReply(400, 'Only responses created with background=true can be cancelled.', null);
      if (entry.completed) {
        entry.response = { ...entry.response, status: 'cancelled' };
        entry.completed = undefined;
      }
      return json(entry.response);
    },
  };

  const listInputItems: Route = {
    body: false,
    model: false,
    validate: (call) => {
      const miss = lookup(call);
      if (miss) return miss;
      const order = call.query.get('order');
      if (order !== null && order !== 'asc' && order !== 'desc') return errorReply(400, "'order' must be 'asc' or 'desc'.", 'order');
      const limit = call.query.get('limit');
      if (limit !== null && !/^\d+$/.test(limit)) return errorReply(400, "'limit' must be an integer between 1 and 100.", 'limit');
      return undefined;
    },
    reply: ({ params, query }) => {
      const items = [...store.get(params[0]!)!.inputItems];
      // OpenAI lists newest first unless order=asc.
      if (query.get('order') !== 'asc') items.reverse();
      const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 20)));
      const after = query.get('after');
      const start = after === null ? 0 : items.findIndex((i) => i.id === after) + 1;
      const data = items.slice(start, start + limit);
      return json({
        object: 'list',
        data,
        first_id: data[0]?.id ?? null,
        last_id: data[data.length - 1]?.id ?? null,
        has_more: start + limit < items.length,
      });
    },
  };

  return { create, inputTokens, retrieve, remove, cancel, listInputItems };
}
