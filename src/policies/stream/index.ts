// The stream filter: applies the policies' onChunk to a streamed reply as it is forwarded, in the
// caller's wire format. Each push parses only the events that chunk completes (O(chunk)); events no
// policy changed are forwarded byte for byte. Used by forward.ts through its `transform` option.
import type { Policy, PolicyState } from '../types.js';
import { FilterCore, type StreamDecisionSink, type StreamPolicy } from './core.js';
import { SseSplitter } from './sse-split.js';
import type { StreamCodec } from './codec.js';
import type { SentEvents } from '../../protocols/types.js';
import { chatCodec } from './chat.js';
import { responsesCodec } from './responses.js';
import { anthropicCodec } from './anthropic.js';

export type ChunkTransform = (chunk: Buffer) => Buffer | null | Promise<Buffer | null>;

const CODECS: Record<string, () => StreamCodec> = {
  'openai-chat': chatCodec,
  'openai-completions': chatCodec,
  'openai-responses': responsesCodec,
  'anthropic-messages': anthropicCodec,
};

export function hasStreamCodec(protocol: string): boolean {
  return protocol in CODECS;
}

export interface StreamFilterOptions {
  protocol: string;
  policies: readonly { policy: Policy; state: PolicyState }[];
  /** The protocol's in-band error event for a stop (streamErrorEvent of a policy_violation), after the events `sent` */
  errorEvent: (message: string, sent: SentEvents) => string;
  record: StreamDecisionSink;
  maxHoldChars?: number;
}

/** null when no policy looks at streams or the protocol has no stream codec (nothing to filter). */
export function createStreamFilter(o: StreamFilterOptions): ChunkTransform | null {
  const active = o.policies.filter((p): p is StreamPolicy => typeof p.policy.onChunk === 'function');
  const codec = CODECS[o.protocol]?.();
  if (active.length === 0 || !codec) return null;
  const core = new FilterCore(active, (message) => o.errorEvent(message, codec), o.record, o.maxHoldChars);
  const splitter = new SseSplitter();
  return async (chunk) => {
    if (core.stopped) return null;
    for (const ev of splitter.push(chunk)) {
      await codec.handle(ev, core);
      if (core.stopped) break;
    }
    const s = core.take();
    return s ? Buffer.from(s, 'utf8') : null;
  };
}

export { FilterCore } from './core.js';

