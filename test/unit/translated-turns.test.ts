import { describe, expect, it } from 'vitest';
import { TranslatedTurns } from '../../src/pipeline/translated-turns.js';
import { turnItems } from '../../src/protocols/openai-responses/record.js';
import { IbexError } from '../../src/errors.js';
import type { StoredTranslatedTurn } from '../../src/stores/ports.js';

const user = (text: string) => ({ type: 'message', role: 'user', content: text });

describe('TranslatedTurns', () => {
  it('gives a conversation back from its last turn, oldest items first, each turn held once', () => {
    const turns = new TranslatedTurns();
    turns.record('resp_1', null, [user('one'), { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }] }], 100, 'a');
    turns.record('resp_2', 'resp_1', [user('two')], 50, 'a');
    turns.record('resp_3', 'resp_2', [user('three')], 50, 'a');
    // a branch: another continuation of the first turn
    turns.record('resp_2b', 'resp_1', [user('two, again')], 50, 'a');
    expect((turns.history('resp_3', 'a') as unknown[]).map((i) => (i as { content: unknown }).content)).toEqual(['one', [{ type: 'output_text', text: 'a' }], 'two', 'three']);
    expect((turns.history('resp_2b', 'a') as unknown[]).map((i) => (i as { content: unknown }).content)).toEqual(['one', [{ type: 'output_text', text: 'a' }], 'two, again']);
    expect(turns.history('resp_unknown', 'a')).toBeUndefined();
    // another agent's request does not get this conversation
    expect(turns.history('resp_3', 'b')).toBeUndefined();
  });

  it('a conversation one of whose turns was let go is unknown as a whole, not sent with a hole', () => {
    const turns = new TranslatedTurns(400);
    turns.record('resp_1', null, [user('x')], 190, 'a');
    turns.record('resp_2', 'resp_1', [user('y')], 190, 'a');
    turns.record('resp_3', 'resp_2', [user('z')], 190, 'a'); // over the bound: the oldest goes
    expect(turns.history('resp_3', 'a')).toBeUndefined();
    expect(turns.history('resp_2', 'a')).toBeUndefined();
    // a turn larger than the whole bound is not kept at all
    turns.record('resp_big', null, [user('w')], 1_000, 'a');
    expect(turns.history('resp_big', 'a')).toBeUndefined();
  });
});

describe('turnItems (Responses)', () => {
  it('is the input, then the reply as an assistant message and function_call items', () => {
    const reply = { text: 'Checking.', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    expect(turnItems({ model: 'm', input: 'weather?' }, reply)).toEqual({
      input: [{ type: 'message', role: 'user', content: 'weather?' }],
      output: [
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      ],
    });
    const output = { type: 'function_call_output', call_id: 'call_1', output: '18°C' };
    expect(turnItems({ model: 'm', input: [output] }, { text: 'Mild.', toolCalls: [] })).toEqual({
      input: [output],
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Mild.' }] }],
    });
  });

  it('keeps nothing of a turn the caller asked not to store', () => {
    expect(turnItems({ model: 'm', input: 'secret', store: false }, { text: 'ok', toolCalls: [] })).toBeNull();
  });

  describe('with a session store (turns another process served)', () => {
    // A stand-in counting lookups; the stores' own findTranslatedTurn is in test/contracts/session-store.ts
    function storeOf(turns: Record<string, StoredTranslatedTurn>, fail = false) {
      const asked: string[] = [];
      return {
        asked,
        async findTranslatedTurn(id: string) {
          asked.push(id);
          if (fail) throw new Error('connect ECONNREFUSED');
          return turns[id] ?? null;
        },
      };
    }
    const stored = (previous: string | null, text: string, agent = 'a'): StoredTranslatedTurn => ({ agent, previous, items: [user(text)], bytes: 40 });

    it('reads the turns memory does not hold, once, and joins them with those it does', async () => {
      const store = storeOf({ resp_1: stored(null, 'one'), resp_2: stored('resp_1', 'two') });
      const turns = new TranslatedTurns(1_000_000, store);
      turns.record('resp_3', 'resp_2', [user('three')], 50, 'a');
      const texts = (h: unknown[] | undefined) => h?.map((i) => (i as { content: unknown }).content);
      expect(texts(await turns.history('resp_3', 'a'))).toEqual(['one', 'two', 'three']);
      expect(store.asked).toEqual(['resp_2', 'resp_1']);
      // now held: no promise, no lookup
      expect(texts(turns.history('resp_3', 'a') as unknown[])).toEqual(['one', 'two', 'three']);
      expect(store.asked).toHaveLength(2);
    });

    it('a stored turn larger than the whole bound is still sent (read once, not kept)', async () => {
      const store = storeOf({ resp_1: { ...stored(null, 'one'), bytes: 5_000 }, resp_2: stored('resp_1', 'two') });
      const turns = new TranslatedTurns(1_000, store);
      const texts = (h: unknown[] | undefined) => h?.map((i) => (i as { content: unknown }).content);
      expect(texts(await turns.history('resp_2', 'a'))).toEqual(['one', 'two']);
      expect(store.asked).toEqual(['resp_2', 'resp_1']);
    });

    it("another agent's stored turn, or a missing one, is no history", async () => {
      const store = storeOf({ resp_1: stored(null, 'one', 'b'), resp_2: stored('resp_gone', 'two') });
      const turns = new TranslatedTurns(1_000_000, store);
      expect(await turns.history('resp_1', 'a')).toBeUndefined();
      expect(await turns.history('resp_2', 'a')).toBeUndefined();
    });

    it('a store that cannot answer is a 503 naming previous_response_id', async () => {
      const turns = new TranslatedTurns(1_000_000, storeOf({}, true));
      const err = await (turns.history('resp_1', 'a') as Promise<unknown>).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IbexError);
      expect([(err as IbexError).status, (err as IbexError).param]).toEqual([503, 'previous_response_id']);
    });
  });
});
