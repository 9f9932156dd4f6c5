// The live feed: one stream of /admin/v1/events per signed-in tab, kept while the user moves between
// pages, holding the newest traces in memory (bounded).
import { getToken, signOut } from './auth';
import { openStream, type StreamState } from './sse';
import type { Trace } from './types';

export const LIVE_CAPACITY = 1000;

interface LiveState {
  traces: Trace[];
  state: StreamState;
  detail: string | undefined;
  /** Events the gateway dropped for this tab while it was slow */
  dropped: number;
  since: number;
}

let state: LiveState = { traces: [], state: 'stopped', detail: undefined, dropped: 0, since: Date.now() };
let stop: (() => void) | null = null;
const listeners = new Set<() => void>();

function set(patch: Partial<LiveState>) {
  state = { ...state, ...patch };
  for (const l of listeners) l();
}

export function liveState(): LiveState {
  return state;
}

export function subscribeLive(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function startLive(): void {
  if (stop) return;
  set({ traces: [], dropped: 0, since: Date.now() });
  stop = openStream({
    url: '/admin/v1/events',
    token: getToken,
    onState: (s, detail) => set({ state: s, detail }),
    onUnauthorized: () => signOut(),
    onEvent: (ev) => {
      if (ev.event === 'trace') {
        let trace: Trace;
        try {
          trace = JSON.parse(ev.data) as Trace;
        } catch {
          return;
        }
        const traces = [trace, ...state.traces];
        if (traces.length > LIVE_CAPACITY) traces.length = LIVE_CAPACITY;
        set({ traces });
      } else if (ev.event === 'dropped') {
        const count = Number((JSON.parse(ev.data) as { count?: number }).count ?? 0);
        set({ dropped: state.dropped + count });
      }
    },
  });
}

export function stopLive(): void {
  stop?.();
  stop = null;
}

export function findLiveTrace(requestId: string): Trace | undefined {
  return state.traces.find((t) => t.requestId === requestId || t.clientRequestId === requestId);
}
