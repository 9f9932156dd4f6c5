import { useEffect, useState } from 'preact/hooks';
import { liveState, subscribeLive } from './live';

/** Re-renders the component on every live-feed change. */
export function useLive() {
  const [state, setState] = useState(liveState);
  useEffect(() => subscribeLive(() => setState(liveState())), []);
  return state;
}
