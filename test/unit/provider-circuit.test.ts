// The circuit breakers of a provider, one per model (src/providers/health.ts), and what the registry
// does with them (src/providers/index.ts): a target that keeps failing goes last in its chains for a cooldown.
import { describe, expect, it } from 'vitest';
import { ProviderHealth } from '../../src/providers/health.js';
import { ProviderRegistry } from '../../src/providers/index.js';
import { KINDS } from '../../src/providers/kinds.js';
import type { Provider } from '../../src/providers/types.js';
import { ConfigFileError, parseIbexYaml } from '../../src/config/ibex-yaml.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ProviderHealth: a breaker per model', () => {
  const M = 'gpt-4o';

  it('opens after `failures` consecutive outage-like failures of that model, for the cooldown', () => {
    const c = clock();
    const h = new ProviderHealth({ failures: 3, cooldownMs: 30_000 }, c.now);
    h.failure(null, 'connect ECONNREFUSED', M);
    h.failure(503, 'HTTP 503', M);
    expect(h.tripped(M)).toBe(false);
    h.failure(null, 'connect timeout', M);
    expect(h.tripped(M)).toBe(true);
    expect(h.snapshot().breakers).toEqual([{ model: M, state: 'open', openUntil: c.now() + 30_000, consecutiveFailures: 3, opened: 1 }]);
    c.advance(29_999);
    expect(h.tripped(M)).toBe(true);
    c.advance(1);
    // The cooldown is over: requests reach it again, and the snapshot says closed.
    expect(h.tripped(M)).toBe(false);
    expect(h.snapshot().breakers[0]!.state).toBe('closed');
  });

  it("one model's failures leave the provider's other models alone", () => {
    const h = new ProviderHealth({ failures: 1, cooldownMs: 1_000 });
    h.failure(500, 'HTTP 500', 'gpt-4o');
    expect(h.tripped('gpt-4o')).toBe(true);
    expect(h.tripped('gpt-4o-mini')).toBe(false);
    // a call that is not a target's (the background probe) touches no breaker
    h.failure(null, 'probe failed');
    h.success();
    expect(h.tripped('gpt-4o')).toBe(true);
    expect(h.snapshot().breakers.map((b) => b.model)).toEqual(['gpt-4o']);
  });

  it('after the cooldown, one more failure opens it again at once; one success closes it', () => {
    const c = clock();
    const h = new ProviderHealth({ failures: 2, cooldownMs: 1_000 }, c.now);
    h.failure(500, 'HTTP 500', M);
    h.failure(500, 'HTTP 500', M);
    c.advance(1_000);
    expect(h.tripped(M)).toBe(false);
    h.failure(null, 'reset', M);
    expect(h.tripped(M)).toBe(true);
    expect(h.snapshot().breakers[0]!.opened).toBe(2);
    c.advance(1_000);
    h.success(M);
    expect(h.snapshot().breakers[0]).toMatchObject({ state: 'closed', consecutiveFailures: 0, openUntil: null, opened: 2 });
    h.failure(null, 'reset', M);
    expect(h.tripped(M)).toBe(false); // one failure after a success is not an outage
  });

  it('a failure while open extends it from that failure; a success while open closes it (a pinned call)', () => {
    const c = clock();
    const h = new ProviderHealth({ failures: 1, cooldownMs: 1_000 }, c.now);
    h.failure(null, 'x', M);
    c.advance(600);
    h.failure(null, 'x', M);
    expect(h.snapshot().breakers[0]).toMatchObject({ openUntil: c.now() + 1_000, opened: 1 });
    h.success(M);
    expect(h.tripped(M)).toBe(false);
  });

  it("4xx answers (the request's, a key's rate limit) neither open nor close it", () => {
    const h = new ProviderHealth({ failures: 2, cooldownMs: 1_000 });
    h.failure(null, 'x', M);
    h.failure(429, 'HTTP 429 rate_limit_exceeded', M);
    h.failure(403, 'HTTP 403', M);
    expect(h.snapshot().breakers[0]!.consecutiveFailures).toBe(1);
    h.failure(null, 'x', M);
    expect(h.tripped(M)).toBe(true);
    h.failure(429, 'HTTP 429', M);
    expect(h.tripped(M)).toBe(true);
    expect(h.snapshot()).toMatchObject({ requests: 5, errors: 5 });
  });

  it('failures: 0 turns it off', () => {
    const h = new ProviderHealth({ failures: 0, cooldownMs: 1_000 });
    for (let i = 0; i < 50; i++) h.failure(null, 'x', M);
    expect(h.tripped(M)).toBe(false);
    expect(h.snapshot().breakers).toEqual([]);
  });

  it('keeps at most 1,000 breakers (model names come from callers): the oldest goes first', () => {
    const h = new ProviderHealth({ failures: 1, cooldownMs: 60_000 });
    for (let i = 0; i < 1_005; i++) h.failure(500, 'HTTP 500', `m${i}`);
    const models = h.snapshot().breakers.map((b) => b.model);
    expect(models).toHaveLength(1_000);
    expect(models[0]).toBe('m5');
    expect(h.tripped('m1004')).toBe(true);
  });
});

describe('the registry puts open targets last', () => {
  const fake = (id: string, open: () => boolean): Provider => ({
    id,
    kind: KINDS.openai,
    speaks: () => true,
    tripped: (model) => open() && model !== 'never-open',
    status: () => {
      throw new Error('unused');
    },
    send: () => Promise.reject(new Error('unused')),
    close: async () => {},
  });
  const yaml = `providers:\n  a: { kind: openai }\n  b: { kind: openai }\n  c: { kind: openai }\nmodels:\n  m: [a/x, b/y, c/z]\n  one: a/x\n`;

  it('a stable partition: healthy targets in chain order, then the open ones in chain order; nothing dropped', () => {
    const open = new Set<string>();
    const reg = new ProviderRegistry(parseIbexYaml(yaml, '/tmp/ibex.yaml', {}));
    for (const id of ['a', 'b', 'c']) reg.register(fake(id, () => open.has(id)));
    const order = () => reg.targets('m').map((t) => `${t.provider.id}/${t.model}`);
    expect(order()).toEqual(['a/x', 'b/y', 'c/z']);
    open.add('a');
    expect(order()).toEqual(['b/y', 'c/z', 'a/x']);
    open.add('c');
    expect(order()).toEqual(['b/y', 'a/x', 'c/z']);
    open.add('b');
    expect(order()).toEqual(['a/x', 'b/y', 'c/z']); // all open: the chain as written
    // a model with one target is served by it whatever its state
    expect(reg.targets('one').map((t) => t.provider.id)).toEqual(['a']);
  });

  it('asks about the target (provider and model), not the provider alone', () => {
    const reg = new ProviderRegistry(parseIbexYaml(`providers:\n  a: { kind: openai }\n  b: { kind: openai }\nmodels:\n  m: [a/x, b/y]\n  n: [a/never-open, b/y]\n`, '/tmp/ibex.yaml', {}));
    reg.register(fake('a', () => true)).register(fake('b', () => false));
    expect(reg.targets('m').map((t) => t.provider.id)).toEqual(['b', 'a']);
    expect(reg.targets('n').map((t) => t.provider.id)).toEqual(['a', 'b']);
  });
});

describe('ibex.yaml `circuit`', () => {
  it('defaults to 3 failures and 30 s; both can be set; failures: 0 turns it off', () => {
    expect(parseIbexYaml('providers: { a: { kind: openai } }\n', '/tmp/ibex.yaml', {}).circuit).toEqual({ failures: 3, cooldownMs: 30_000 });
    expect(parseIbexYaml('circuit: { failures: 5, cooldown: 2m }\n', '/tmp/ibex.yaml', {}).circuit).toEqual({ failures: 5, cooldownMs: 120_000 });
    expect(parseIbexYaml('circuit: { failures: 0 }\n', '/tmp/ibex.yaml', {}).circuit).toEqual({ failures: 0, cooldownMs: 30_000 });
  });

  it('refuses what is not a count or a duration, naming the field', () => {
    const refused = (text: string) => {
      try {
        parseIbexYaml(text, '/tmp/ibex.yaml', {});
      } catch (err) {
        if (err instanceof ConfigFileError) return err.issues.map((i) => i.path);
      }
      throw new Error('not refused');
    };
    expect(refused('circuit: { failures: -1 }\n')).toEqual(['circuit.failures']);
    expect(refused('circuit: { cooldown: soon }\n')).toEqual(['circuit.cooldown']);
    expect(refused('circuit: { failurez: 3 }\n')).toEqual(['circuit.failurez']);
  });
});
