import { describe, expect, it } from 'vitest';
import { TranslatedTurns } from '../../src/pipeline/translated-turns.js';
import { turnItems } from '../../src/protocols/openai-responses/record.js';

const user = (text: string) => ({ type: 'message', role: 'user', content: text });

describe('TranslatedTurns', () => {
  it('gives a conversation back from its last turn, oldest items first, each turn held once', () => {
    const turns = new TranslatedTurns();
    turns.record('resp_1', null, [user('one'), { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }] }], 100, 'a');
    turns.record('resp_2', 'resp_1', [user('two')], 50, 'a');
    turns.record('resp_3', 'resp_2', [user('three')], 50, 'a');
    // a branch: another continuation of the first turn
    turns.record('resp_2b', 'resp_1', [user('two, again')], 50, 'a');
    expect(turns.history('resp_3', 'a')!.map((i) => (i as { content: unknown }).content)).toEqual(['one', [{ type: 'output_text', text: 'a' }], 'two', 'three']);
    expect(turns.history('resp_2b', 'a')!.map((i) => (i as { content: unknown }).content)).toEqual(['one', [{ type: 'output_text', text: 'a' }], 'two, again']);
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
    expect(turnItems({ model: 'm', input: 'weather?' }, reply)).toEqual([
      { type: 'message', role: 'user', content: 'weather?' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    const output = { type: 'function_call_output', call_id: 'call_1', output: '18°C' };
    expect(turnItems({ model: 'm', input: [output] }, { text: 'Mild.', toolCalls: [] })).toEqual([
      output,
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Mild.' }] },
    ]);
  });

  it('keeps nothing of a turn the caller asked not to store', () => {
    expect(turnItems({ model: 'm', input: 'secret', store: false }, { text: 'ok', toolCalls: [] })).toBeNull();
  });
});
