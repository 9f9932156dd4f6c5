import { describe, expect, it } from 'vitest';
import { TailModel } from '../../src/ui/tail/model.js';
import type { Trace } from '../../src/stores/ports.js';

const t = (requestId: string, agent: string | null = 'a', status = 200): Trace => ({
  requestId, sessionId: null, agent, patId: null, model: null, provider: null, stream: false, status, errorCode: null,
  startedAt: 0, totalMs: 1, upstreamTtfbMs: null, upstreamMs: null, overheadMs: 0, stages: {}, promptTokens: null,
  completionTokens: null, totalTokens: null, bytesIn: 0, bytesOut: 0, directiveVersion: null,
  clientRequestId: null, cachedTokens: null, reasoningTokens: null, costUsd: null,
});

describe('TailModel', () => {
  it('stays bounded however many events arrive', () => {
    const m = new TailModel(0);
    for (let i = 0; i < 50_000; i++) m.add(t(`r${i}`), i); // 1 event per ms for 50 s
    expect(m.rows(5_000).length).toBeLessThanOrEqual(2000);
    expect(m.rows(1)[0]!.requestId).toBe('r49999');
    expect(m.received).toBe(50_000);
    // a minute later with no traffic the stats window is empty
    expect(m.stats(200_000).count).toBe(0);
  });

  it('freezes rows while paused and counts what arrived meanwhile', () => {
    const m = new TailModel(0);
    m.add(t('before'), 1);
    m.togglePause();
    m.add(t('during'), 2);
    expect(m.rows(10).map((r) => r.requestId)).toEqual(['before']);
    expect(m.newWhilePaused).toBe(1);
    m.togglePause();
    expect(m.rows(10).map((r) => r.requestId)).toEqual(['during', 'before']);
    expect(m.newWhilePaused).toBe(0);
  });

  it('cycles the filter through agents in the order seen, then back to all', () => {
    const m = new TailModel(0);
    m.cycleFilter();
    expect(m.filter).toBeNull(); // nothing seen yet: stays on all
    m.add(t('1', 'x'), 1);
    m.add(t('2', null), 1);
    m.add(t('3', 'y'), 1);
    m.add(t('4', 'x'), 1);
    const seen: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      m.cycleFilter();
      seen.push(m.filter);
    }
    expect(seen).toEqual(['x', 'y', null]);
    m.setFilter('  y ');
    expect(m.rows(10).map((r) => r.requestId)).toEqual(['3']);
    m.setFilter('');
    expect(m.filter).toBeNull();
  });
});
