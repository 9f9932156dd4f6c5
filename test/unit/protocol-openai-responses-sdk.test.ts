// What real clients accept: the bytes ibex produces are fed to the official `openai` SDK through a
// fake fetch, and the SDK's own stream parser and accumulator read them.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  chatToResponsesResponse,
  createChatToResponsesStream,
  streamErrorEvent,
  type ResponsesBody,
} from '../../src/protocols/openai-responses/index.js';
import { CHAT_COMPLETION, REQUEST, chatChunks, chatSse, fullEvents, pieces, sse } from './protocol-openai-responses-fixtures.js';

const body = REQUEST as unknown as ResponsesBody;
const opts = { responseId: 'resp_sdk', now: () => 1_760_000_200_000 };

/** A client whose every request is answered with `bytes`, delivered in small uneven pieces. */
function clientAnswering(bytes: Buffer | string, contentType: string): { client: OpenAI; requests: unknown[] } {
  const requests: unknown[] = [];
  const fetch = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    requests.push(JSON.parse(String(init?.body)));
    const parts = pieces(Buffer.from(bytes), [7, 1, 130, 33]);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of parts) controller.enqueue(new Uint8Array(p));
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': contentType } });
  };
  return { client: new OpenAI({ apiKey: 'ibex_pat_test', baseURL: 'http://ibex.test/v1', fetch, maxRetries: 0 }), requests };
}

function translated(upstream: Buffer): string {
  const t = createChatToResponsesStream(body, opts);
  let out = '';
  for (const p of pieces(upstream, [9, 40])) out += t.push(p);
  return out + t.end();
}

describe('the openai SDK reads what ibex produces', () => {
  it('a translated stream through responses.stream(): the events and finalResponse()', async () => {
    const { client } = clientAnswering(translated(chatSse(chatChunks())), 'text/event-stream');
    // Without text.format: with a json_schema format the SDK would parse the text as JSON.
    const { text: _format, stream: _stream, ...plain } = REQUEST;
    const stream = client.responses.stream(plain);
    const types: string[] = [];
    const textSnapshots: string[] = [];
    stream.on('response.output_text.delta', (e) => textSnapshots.push(e.snapshot));
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalResponse();

    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(textSnapshots).toEqual(['Il fait ', 'Il fait beau.']);
    expect(final.id).toBe('resp_sdk');
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe('Il fait beau.');
    const calls = final.output.filter((o) => o.type === 'function_call');
    expect(calls.map((c) => [c.call_id, c.name, c.arguments])).toEqual([
      ['toolu_1', 'get_weather', '{"city":"Paris"}'],
      ['toolu_2', 'get_weather', '{"city":"Lyon"}'],
    ]);
    expect(final.usage).toMatchObject({ input_tokens: 90, output_tokens: 30, input_tokens_details: { cached_tokens: 64 } });
  });

  it('interleaved tool-call deltas and text after the calls still accumulate in the SDK', async () => {
    const [first, text1, , call0] = chatChunks();
    const d = (delta: object, finish: string | null = null) => ({ ...first!, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
    const upstream = chatSse([
      first!,
      text1!,
      call0!,
      d({ tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":' } }] }),
      d({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Rome"}' } }] }),
      d({ tool_calls: [{ index: 1, function: { arguments: '"CET"}' } }] }),
      d({ content: 'Done.' }),
      d({}, 'tool_calls'),
    ]);
    const { client } = clientAnswering(translated(upstream), 'text/event-stream');
    const { text: _format, stream: _stream, ...plain } = REQUEST;
    const final = await client.responses.stream(plain).finalResponse();
    expect(final.output.map((o) => (o.type === 'function_call' ? `${o.call_id}:${o.arguments}` : o.type))).toEqual([
      'message',
      'toolu_1:{"city":"Rome"}',
      'toolu_b:{"tz":"CET"}',
      'message',
    ]);
    expect(final.output_text).toBe('Il fait Done.');
    expect(final.usage).toBeUndefined(); // the upstream sent none
  });

  it('a translated stream through responses.create({stream: true}): typed events in order', async () => {
    const { client, requests } = clientAnswering(translated(chatSse(chatChunks('length'))), 'text/event-stream');
    const events = await client.responses.create({ ...REQUEST, stream: true });
    const seen: { type: string; sequence_number: number }[] = [];
    let args = '';
    for await (const ev of events) {
      seen.push({ type: ev.type, sequence_number: ev.sequence_number });
      if (ev.type === 'response.function_call_arguments.delta' && ev.output_index === 1) args += ev.delta;
    }
    expect(requests[0]).toMatchObject({ model: 'claude-sonnet', stream: true });
    expect(seen.map((e) => e.sequence_number)).toEqual(seen.map((_, i) => i));
    expect(seen.at(-1)!.type).toBe('response.incomplete');
    expect(args).toBe('{"city":"Paris"}');
  });

  it('a translated JSON reply through responses.create(): output_text and the items', async () => {
    const { client } = clientAnswering(JSON.stringify(chatToResponsesResponse(CHAT_COMPLETION, body, opts)), 'application/json');
    const r = await client.responses.create(REQUEST);
    expect(r.output_text).toBe('Il fait beau.');
    expect(r.output.map((o) => o.type)).toEqual(['message', 'function_call', 'function_call']);
  });

  it('an OpenAI-shaped stream cut by ibex with streamErrorEvent: the SDK yields the error event', async () => {
    const started = sse(fullEvents(null).slice(0, 7)).toString('utf8');
    const error = streamErrorEvent({ status: 502, code: 'upstream_error', type: 'api_error', message: 'The provider failed to answer.', param: null }, 7);
    const { client } = clientAnswering(started + error, 'text/event-stream');
    const events = await client.responses.create({ ...REQUEST, stream: true });
    const seen: unknown[] = [];
    for await (const ev of events) seen.push(ev);
    expect(seen.at(-1)).toEqual({ type: 'error', code: 'upstream_error', message: 'The provider failed to answer.', param: null, sequence_number: 7 });
  });
});
