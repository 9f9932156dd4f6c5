// The protocol-neutral half of the stream filter: runs the policies' onChunk over the pieces a codec
// reads out of the events, keeps each policy's held-back text per output, gates output while a policy
// holds a tool call, and ends the stream in-band when a policy stops it. Codecs (chat.ts,
// responses.ts, anthropic.ts) own the wire format; this file never sees JSON.
import type { ChunkDecision, Policy, PolicyState, StreamChunk } from '../types.js';

/** Most text one policy may hold back per output (a judge holding a whole reply, a PII tail). */
export const DEFAULT_MAX_HOLD_CHARS = 256 * 1024;

export interface StreamPolicy {
  policy: Policy & { onChunk: NonNullable<Policy['onChunk']> };
  state: PolicyState;
}

export interface StreamDecisionSink {
  (policy: string, action: 'replace' | 'hold' | 'stop', detail: string): void;
}

export class FilterCore {
  /** Output of the current push */
  out: string[] = [];
  stopped = false;
  /** Output kept back while a policy holds a tool call; null when not gated */
  private gate: string[] | null = null;
  private readonly gatedBy = new Set<number>();
  /** held[i] = output index → text policy i held back */
  private readonly held: Map<number, string>[];
  /** Text emitted per output, once any policy touched that output (codecs patch `done` events with it) */
  private readonly emitted = new Map<number, string>();
  private readonly touched = new Set<number>();

  constructor(
    private readonly policies: readonly StreamPolicy[],
    private readonly errorEvent: (reason: string) => string,
    private readonly record: StreamDecisionSink,
    private readonly maxHold = DEFAULT_MAX_HOLD_CHARS,
  ) {
    this.held = policies.map(() => new Map());
  }

  emit(s: string): void {
    if (this.stopped || s === '') return;
    if (this.gate) this.gate.push(s);
    else this.out.push(s);
  }

  /** A text delta of output `index`: what to send instead ('' = nothing now). */
  async text(index: number, text: string): Promise<string> {
    let t = text;
    for (let i = 0; i < this.policies.length && !this.stopped; i++) {
      const held = this.held[i]!.get(index);
      const input = held ? held + t : t;
      const d = await this.ask(i, { kind: 'text', index, text: input });
      t = this.applyText(i, index, input, d, false);
    }
    if (this.stopped) return '';
    this.note(index, t, t !== text);
    return t;
  }

  /** The end of output `index`: what the policies still hold, released (final) for the codec to send. */
  async flush(index: number): Promise<string> {
    let carry = '';
    let any = false;
    for (let i = 0; i < this.policies.length && !this.stopped; i++) {
      const held = this.held[i]!.get(index);
      if (!held && carry === '') continue;
      any = true;
      this.held[i]!.delete(index);
      const input = (held ?? '') + carry;
      const d = await this.ask(i, { kind: 'text', index, text: input, final: true });
      carry = this.applyText(i, index, input, d, true);
    }
    if (this.stopped || !any) return '';
    this.note(index, carry, true);
    return carry;
  }

  /** Outputs with text still held (a codec flushes them before the terminal event). */
  heldOutputs(): number[] {
    const s = new Set<number>();
    for (const m of this.held) for (const [k, v] of m) if (v) s.add(k);
    return [...s].sort((a, b) => a - b);
  }

  async toolCall(chunk: StreamChunk & { kind: 'tool_call' }): Promise<void> {
    for (let i = 0; i < this.policies.length && !this.stopped; i++) this.gateBy(i, await this.ask(i, chunk));
  }

  /** The reply is complete: the last chance to stop; releases any gate. */
  async end(): Promise<void> {
    for (let i = 0; i < this.policies.length && !this.stopped; i++) {
      const d = await this.ask(i, { kind: 'end' });
      // holding past the end would hold forever: it means pass
      this.gateBy(i, d.action === 'hold' ? { action: 'pass' } : d);
    }
  }

  /** The text sent for output `index` so far, when a policy changed or held any of it. */
  emittedText(index: number): string | undefined {
    return this.touched.has(index) ? (this.emitted.get(index) ?? '') : undefined;
  }

  take(): string {
    const s = this.out.join('');
    this.out = [];
    return s;
  }

  private async ask(i: number, chunk: StreamChunk): Promise<ChunkDecision> {
    const p = this.policies[i]!;
    const r = p.policy.onChunk(chunk, p.state);
    return r instanceof Promise ? await r : r;
  }

  private applyText(i: number, index: number, input: string, d: ChunkDecision, final: boolean): string {
    const name = this.policies[i]!.policy.name;
    switch (d.action) {
      case 'pass':
        this.held[i]!.delete(index);
        return input;
      case 'replace': {
        const hold = final ? '' : (d.hold ?? '');
        if (d.text !== input || hold) this.record(name, 'replace', d.note ?? 'rewrote streamed text');
        this.setHeld(i, index, hold);
        return final ? d.text + (d.hold ?? '') : d.text;
      }
      case 'hold':
        if (final) return input; // nothing comes after the final piece: holding means pass
        this.record(name, 'hold', 'held streamed text');
        this.setHeld(i, index, input);
        return '';
      case 'stop':
        this.stop(name, d.reason);
        return '';
    }
  }

  private setHeld(i: number, index: number, text: string): void {
    if (!text) {
      this.held[i]!.delete(index);
      return;
    }
    if (text.length > this.maxHold) {
      this.stop(this.policies[i]!.policy.name, `held more than ${this.maxHold} characters of the reply`);
      return;
    }
    this.held[i]!.set(index, text);
  }

  private gateBy(i: number, d: ChunkDecision): void {
    const name = this.policies[i]!.policy.name;
    if (d.action === 'stop') return this.stop(name, d.reason);
    if (d.action === 'hold') {
      if (!this.gatedBy.has(i)) this.record(name, 'hold', 'held a tool call');
      this.gatedBy.add(i);
      this.gate ??= [];
      return;
    }
    if (this.gatedBy.delete(i) && this.gatedBy.size === 0 && this.gate) {
      const released = this.gate;
      this.gate = null;
      for (const s of released) this.emit(s);
    }
  }

  private note(index: number, text: string, changed: boolean): void {
    if (changed) this.touched.add(index);
    this.emitted.set(index, (this.emitted.get(index) ?? '') + text);
  }

  stop(policy: string, reason: string): void {
    if (this.stopped) return;
    this.record(policy, 'stop', reason);
    this.gate = null;
    this.out.push(this.errorEvent(`${policy}: ${reason}`));
    this.stopped = true;
  }
}
