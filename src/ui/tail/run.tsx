// Wires the SSE client to the Ink app for `ibex tail` on a terminal.
import { render } from 'ink';
import { tailTraces } from '../../tail/client.js';
import { TailEmitter } from '../../tail/feed.js';
import { TailApp } from './TailApp.js';
import type { Checkpoint } from '../../stores/ports.js';

export interface RunTailTuiOptions {
  url: string;
  token: string;
  /** Initial agent filter. Applied in the UI, not on the server, so `a` can still switch agents. */
  agent?: string;
  /** Start in the sessions view */
  sessions?: boolean;
  /** Reads a session's checkpoints for the conversation view (absent with --url: events only) */
  loadSession?: (id: string) => Promise<Checkpoint[]>;
}

/** Resolves when the user quits; rejects if the client hits an error retrying cannot fix (e.g. a refused token). */
export async function runTailTui(opts: RunTailTuiOptions): Promise<void> {
  const feed = new TailEmitter();
  const abort = new AbortController();
  let fatal: unknown;
  const app = render(
    <TailApp
      url={opts.url}
      feed={feed}
      agent={opts.agent ?? null}
      view={opts.sessions ? 'sessions' : 'requests'}
      loadSession={opts.loadSession}
      onExit={() => abort.abort()}
    />,
  );
  const pump = (async () => {
    try {
      for await (const trace of tailTraces({
        url: opts.url,
        token: opts.token,
        signal: abort.signal,
        onStatus: (s) => feed.status(s),
        onDropped: (n) => feed.dropped(n),
      })) {
        feed.trace(trace);
      }
    } catch (err) {
      fatal = err;
      app.unmount();
    }
  })();
  await app.waitUntilExit();
  abort.abort();
  await pump;
  if (fatal) throw fatal;
}
