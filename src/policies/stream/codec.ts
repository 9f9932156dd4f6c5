// A stream codec reads one wire format's events into policy pieces (via FilterCore) and writes the
// events back, changed only where a policy changed something.
import type { FilterCore } from './core.js';
import type { RawEvent } from './sse-split.js';
import type { SentEvents } from '../../protocols/types.js';

/** `lastSequenceNumber` (numbered protocols): the highest event number read, for a stop's error event to follow. */
export interface StreamCodec extends SentEvents {
  handle(ev: RawEvent, core: FilterCore): Promise<void>;
}
