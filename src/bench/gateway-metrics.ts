// The gateway's event-loop delay during the gateway phase, from its own /metrics (prom-client's
// default metrics, which reset their delay histogram on every scrape): scraped once before the phase
// to reset it, once after to read it. Event-loop stalls (synchronous work on the main thread) delay
// every request in flight, including time the gateway counts as "waiting for the provider", so they
// show in client-measured overhead but not in Server-Timing — this number makes them visible.
import { request } from 'undici';

/** prom-client samples the loop with a 10 ms timer; its figures include that interval. */
const MONITOR_RESOLUTION_MS = 10;

export interface EventLoopDelay {
  /** ms beyond the sampling interval; 0 = the loop was never late */
  p50: number;
  p99: number;
  max: number;
}

async function scrape(baseUrl: string): Promise<string | null> {
  try {
    const res = await request(`${baseUrl}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : null;
  } catch {
    return null;
  }
}

export function parseEventLoopDelay(metrics: string): EventLoopDelay | null {
  const read = (name: string) => {
    const m = new RegExp(`^\\w*nodejs_eventloop_lag_${name}_seconds\\s+([0-9.eE+-]+)\\s*$`, 'm').exec(metrics);
    return m ? Number(m[1]) : null;
  };
  const p50 = read('p50');
  const p99 = read('p99');
  const max = read('max');
  if (p50 === null || p99 === null || max === null) return null;
  const lag = (s: number) => Math.round(Math.max(0, s * 1000 - MONITOR_RESOLUTION_MS) * 1000) / 1000;
  return { p50: lag(p50), p99: lag(p99), max: lag(max) };
}

/** Resets the gateway's delay histogram (by scraping it). */
export async function resetEventLoopDelay(baseUrl: string): Promise<void> {
  await scrape(baseUrl);
}

export async function readEventLoopDelay(baseUrl: string): Promise<EventLoopDelay | null> {
  const text = await scrape(baseUrl);
  return text === null ? null : parseEventLoopDelay(text);
}
