// A stream codec reads one wire format's events into policy pieces (via FilterCore) and writes the
// events back, changed only where a policy changed something.
import type { FilterCore } from './core.js';
import type { RawEvent } from './sse-split.js';

export interface StreamCodec {
  handle(ev: RawEvent, core: FilterCore): Promise<void>;
}
