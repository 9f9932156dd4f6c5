import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRetentionJob } from '../../src/ledger/retention-job.js';
import { retentionSettings } from '../../src/ledger/retention-settings.js';
import type { IbexConfig } from '../../src/config.js';
import type { PruneOptions } from '../../src/stores/ports.js';

const DAY = 86_400_000;

describe('retention settings', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const config = (yaml?: string) => {
    const home = mkdtempSync(join(tmpdir(), 'ibex-ret-'));
    dirs.push(home);
    if (yaml) writeFileSync(join(home, 'ibex.yaml'), yaml);
    return { home, traceRetentionDays: 30 } as IbexConfig;
  };

  it('defaults: traces 30 days, sessions kept', () => {
    expect(retentionSettings(config(), {})).toEqual({ tracesMs: 30 * DAY, sessionsMs: null });
  });
  it('ibex.yaml retention, then env durations over it, IBEX_TRACE_RETENTION_DAYS still honoured', () => {
    const c = config('retention: { traces: 7d, sessions: 90d }\n');
    expect(retentionSettings(c, {})).toEqual({ tracesMs: 7 * DAY, sessionsMs: 90 * DAY });
    expect(retentionSettings(c, { IBEX_SESSION_RETENTION: '12h', IBEX_TRACE_RETENTION: '2d' })).toEqual({ tracesMs: 2 * DAY, sessionsMs: 12 * 3_600_000 });
    expect(retentionSettings({ ...c, traceRetentionDays: 3 }, { IBEX_TRACE_RETENTION_DAYS: '3' }).tracesMs).toBe(3 * DAY);
    expect(() => retentionSettings(c, { IBEX_SESSION_RETENTION: 'soon' })).toThrow(/IBEX_SESSION_RETENTION/);
  });
});

describe('retention job', () => {
  it('runs bounded prunes with the cutoffs; traces only when they are in the relational store', async () => {
    const calls: PruneOptions[] = [];
    const job = startRetentionJob({
      prune: async (o) => (calls.push(o), { sessions: 1 }),
      settings: { tracesMs: 30 * DAY, sessionsMs: 90 * DAY },
      relationalTraces: false,
      firstRunMs: 5,
      intervalMs: 60_000,
      now: () => 1_000 * DAY,
      log: () => {},
    });
    await new Promise((r) => setTimeout(r, 50));
    await job.stop();
    expect(calls).toEqual([{ tracesBefore: undefined, sessionsBefore: 910 * DAY, batchSize: 5000, maxBatches: 100, pauseMs: 50 }]);
  });

  it('a failing prune is logged and the job keeps going', async () => {
    const logs: string[] = [];
    const job = startRetentionJob({
      prune: async () => {
        throw new Error('db down');
      },
      settings: { tracesMs: DAY, sessionsMs: null },
      relationalTraces: true,
      firstRunMs: 60_000,
      log: (_l, m) => logs.push(m),
    });
    expect(await job.run()).toBeNull();
    await job.stop();
    expect(logs[0]).toMatch(/retention: prune failed.*db down/);
  });
});
