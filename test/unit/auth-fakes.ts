// In-test stores for the auth unit tests. They COUNT calls: the thing under test is the cache, and
// how many lookups reach the store is exactly what its promises are about. Real adapters are used
// in test/integration/auth-*.test.ts.
import { generatePat } from '../../src/auth/pat.js';
import { NO_SPEND_LIMITS } from '../../src/stores/ports.js';
import type {
  Agent,
  AgentPatch,
  AgentStore,
  ContentMode,
  NewAgent,
  NewPat,
  PatRecord,
  RevocationEvent,
  RevocationKind,
  RevocationLog,
  TokenStore,
} from '../../src/stores/ports.js';

export class CountingTokenStore implements TokenStore {
  readonly pats: PatRecord[] = [];
  calls = { findByHash: 0, createdSince: 0, allHashes: 0 };
  /** When set, findByHash waits for this before answering (to hold a lookup in flight). */
  gate: Promise<void> | null = null;
  /** When set, every read throws it (store down). */
  failWith: Error | null = null;

  constructor(readonly revocations: MemoryRevocationLog = new MemoryRevocationLog()) {}

  async create(pat: NewPat): Promise<PatRecord> {
    const rec: PatRecord = {
      ...NO_SPEND_LIMITS,
      id: pat.id,
      prefix: pat.prefix,
      hash: pat.hash,
      name: pat.name ?? null,
      agents: [...pat.agents],
      rpm: pat.rpm ?? null,
      createdAt: Date.now(),
      expiresAt: pat.expiresAt ?? null,
      revokedAt: null,
    };
    this.pats.push(rec);
    return rec;
  }

  /** A new token in the store, as `ibex pat create` would make it; returns the raw token too. */
  async issue(agents: string[], extra: Partial<NewPat> = {}): Promise<{ token: string; record: PatRecord }> {
    const t = generatePat();
    const record = await this.create({ id: t.id, prefix: t.prefix, hash: t.hash, agents, ...extra });
    return { token: t.token, record };
  }

  async findByHash(hash: string): Promise<PatRecord | null> {
    this.calls.findByHash++;
    // Read first, answer later: a gated lookup returns what the store held when it was asked.
    const p = this.pats.find((x) => x.hash === hash);
    const snapshot = p ? { ...p, agents: [...p.agents] } : null;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return snapshot;
  }

  async find(idOrPrefix: string): Promise<PatRecord | null> {
    return this.pats.find((x) => x.id === idOrPrefix || x.prefix === idOrPrefix) ?? null;
  }

  async list(): Promise<PatRecord[]> {
    return [...this.pats];
  }

  async revoke(idOrPrefix: string): Promise<PatRecord | null> {
    const p = this.pats.find((x) => x.id === idOrPrefix || x.prefix === idOrPrefix);
    if (!p) return null;
    if (p.revokedAt === null) {
      p.revokedAt = Date.now();
      await this.revocations.append({ kind: 'pat', subject: p.hash, patId: p.id });
    }
    return { ...p };
  }

  async allHashes(): Promise<string[]> {
    this.calls.allHashes++;
    if (this.failWith) throw this.failWith;
    return this.pats.filter((p) => p.revokedAt === null).map((p) => p.hash);
  }

  async createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }> {
    this.calls.createdSince++;
    if (this.failWith) throw this.failWith;
    return { hashes: this.pats.slice(cursor).map((p) => p.hash), cursor: this.pats.length };
  }
}

export class MemoryRevocationLog implements RevocationLog {
  readonly events: RevocationEvent[] = [];
  calls = { since: 0, head: 0 };
  failWith: Error | null = null;

  async append(e: { kind: RevocationKind; subject: string; patId?: string | null }): Promise<RevocationEvent> {
    const event: RevocationEvent = { seq: this.events.length + 1, kind: e.kind, subject: e.subject, patId: e.patId ?? null, at: Date.now() };
    this.events.push(event);
    return event;
  }

  async since(cursor: number, limit = 1000): Promise<RevocationEvent[]> {
    this.calls.since++;
    if (this.failWith) throw this.failWith;
    return this.events.filter((e) => e.seq > cursor).slice(0, limit);
  }

  async head(): Promise<number> {
    this.calls.head++;
    if (this.failWith) throw this.failWith;
    return this.events.length;
  }
}

export class CountingAgentStore implements AgentStore {
  readonly agents = new Map<string, Agent>();
  calls = { get: 0 };
  gate: Promise<void> | null = null;
  failWith: Error | null = null;

  constructor(private readonly revocations?: MemoryRevocationLog) {}

  async create(a: NewAgent): Promise<Agent> {
    const agent: Agent = { ...NO_SPEND_LIMITS, name: a.name, description: a.description ?? null, rpm: a.rpm ?? null, enabled: true, createdAt: Date.now() };
    this.agents.set(a.name, agent);
    return agent;
  }

  async get(name: string): Promise<Agent | null> {
    this.calls.get++;
    const snapshot = this.agents.get(name);
    const copy = snapshot ? { ...snapshot } : null;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return copy;
  }

  async list(): Promise<Agent[]> {
    return [...this.agents.values()];
  }

  async setEnabled(name: string, enabled: boolean): Promise<Agent | null> {
    const a = this.agents.get(name);
    if (!a) return null;
    a.enabled = enabled;
    if (!enabled) await this.revocations?.append({ kind: 'agent', subject: name });
    return { ...a };
  }

  async setContentMode(name: string, mode: ContentMode): Promise<Agent | null> {
    const a = this.agents.get(name);
    if (!a) return null;
    a.contentMode = mode;
    return { ...a };
  }

  async update(name: string, patch: AgentPatch): Promise<Agent | null> {
    const a = this.agents.get(name);
    if (!a) return null;
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) Object.assign(a, { [k]: v });
    return { ...a };
  }
}

/** A promise you resolve by hand. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it is true or `timeoutMs` passes; returns the elapsed ms. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}
