// One request's run of its agent's policies: onRequest on the body before it is routed, the stream
// filter on a streamed reply, onResponse on a complete reply. Each policy gets its own scratch state for
// the request; every decision that changed, held or blocked something is recorded (decisions).
import { IbexError } from '../errors.js';
import type { ProtocolErrorInput, ReplyFacts, SentEvents } from '../protocols/types.js';
import { adapterFor, type WireAdapter } from './adapters/index.js';
import type { Json } from './adapters/content.js';
import { createStreamFilter, type ChunkTransform } from './stream/index.js';
import { describeDecisions, type Policy, type PolicyDecisionRecord, type PolicyRequest, type PolicyState, type RequestDecision, type ResponseDecision } from './types.js';

export function policyViolation(policy: string, reason: string): IbexError {
  return new IbexError('IBEX_ERR_POLICY_VIOLATION', { message: `Blocked by policy ${policy}: ${reason}` });
}

export class PolicyRun {
  readonly decisions: PolicyDecisionRecord[] = [];
  private readonly states: PolicyState[];
  private readonly adapter: WireAdapter | undefined;
  /** Stream decisions of one kind are counted, not listed one per chunk */
  private readonly streamCounts = new Map<string, { policy: string; action: 'replace' | 'hold' | 'stop'; detail: string; n: number }>();

  constructor(
    readonly policies: readonly Policy[],
    readonly agent: string,
    readonly protocol: string,
  ) {
    this.states = policies.map(() => ({}));
    this.adapter = adapterFor(protocol);
  }

  /** Applies onRequest of every policy in order to `body` (in place). Returns the model (changed or not); throws policy_violation. */
  async onRequest(body: Json, model: string, stream: boolean): Promise<string> {
    const adapter = this.adapter;
    if (!adapter) return model;
    let view: PolicyRequest | null = null;
    for (let i = 0; i < this.policies.length; i++) {
      const p = this.policies[i]!;
      if (!p.onRequest) continue;
      view ??= { protocol: this.protocol, agent: this.agent, model, stream, ...adapter.readRequest(body) };
      const r = p.onRequest(view, this.states[i]!);
      const d: RequestDecision = r instanceof Promise ? await r : r;
      if (d.action === 'reject') {
        this.decisions.push({ policy: p.name, phase: 'request', action: 'reject', detail: d.reason });
        throw policyViolation(p.name, d.reason);
      }
      if (d.action === 'modify') {
        adapter.writeRequest(body, d);
        if (d.model !== undefined) model = d.model;
        this.decisions.push({ policy: p.name, phase: 'request', action: 'modify', detail: d.note ?? 'modified the request' });
        view = null; // the next policy sees the changed body
      }
    }
    return model;
  }

  /** The chunk transform for a streamed reply; null when no policy looks at streams. */
  streamFilter(errorEvent: (e: ProtocolErrorInput, sent: SentEvents) => string, maxHoldChars?: number): ChunkTransform | null {
    const entry = new IbexError('IBEX_ERR_POLICY_VIOLATION');
    return createStreamFilter({
      protocol: this.protocol,
      policies: this.policies.map((policy, i) => ({ policy, state: this.states[i]! })),
      errorEvent: (message, sent) => errorEvent({ status: entry.status, code: entry.code, type: entry.type, message: `Blocked by policy ${message}`, param: null }, sent),
      record: (policy, action, detail) => {
        const k = `${policy}\0${action}\0${detail}`;
        const c = this.streamCounts.get(k);
        if (c) c.n++;
        else this.streamCounts.set(k, { policy, action, detail, n: 1 });
      },
      ...(maxHoldChars ? { maxHoldChars } : {}),
    });
  }

  /** True when a stream filter of this run stopped the stream. */
  get streamStopped(): boolean {
    for (const c of this.streamCounts.values()) if (c.action === 'stop') return true;
    return false;
  }

  /**
   * onResponse of every policy on a complete reply. Returns the reply to send (the same buffer when no
   * policy changed it) and its facts; throws policy_violation.
   */
  async onResponse(reply: Buffer, facts: ReplyFacts, model: string, summarise: (json: unknown) => ReplyFacts): Promise<{ reply: Buffer; facts: ReplyFacts }> {
    let json: Json | null = null;
    for (let i = 0; i < this.policies.length; i++) {
      const p = this.policies[i]!;
      if (!p.onResponse) continue;
      const r = p.onResponse(
        { protocol: this.protocol, agent: this.agent, model, text: facts.text, toolCalls: facts.toolCalls, finishReason: facts.finishReason },
        this.states[i]!,
      );
      const d: ResponseDecision = r instanceof Promise ? await r : r;
      if (d.action === 'reject') {
        this.decisions.push({ policy: p.name, phase: 'response', action: 'reject', detail: d.reason });
        throw policyViolation(p.name, d.reason);
      }
      if (d.action === 'modify' && this.adapter) {
        json ??= JSON.parse(reply.toString('utf8')) as Json;
        this.adapter.mapReplyText(json, d.mapText);
        facts = summarise(json);
        this.decisions.push({ policy: p.name, phase: 'response', action: 'modify', detail: d.note ?? 'modified the reply' });
      }
    }
    return { reply: json ? Buffer.from(JSON.stringify(json)) : reply, facts };
  }

  /** Every decision, stream ones folded with their count. */
  allDecisions(): PolicyDecisionRecord[] {
    const stream = [...this.streamCounts.values()].map((c) => ({
      policy: c.policy,
      phase: 'stream' as const,
      action: c.action,
      detail: c.n > 1 ? `${c.detail} (×${c.n})` : c.detail,
    }));
    return [...this.decisions, ...stream];
  }

  /** One line for a trace or a log: `pii-redact request modify: redacted 1 email; …`; null when nothing happened. */
  summary(): string | null {
    const all = this.allDecisions();
    return all.length ? describeDecisions(all) : null;
  }
}
