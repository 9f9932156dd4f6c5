// `ibex tail` on a terminal: a header with live numbers over the last minute and a table of the
// newest requests that fits the window.
//
// Events land in a TailModel (outside React); the component re-renders at most every
// `renderIntervalMs` (10/s by default) however fast traces arrive, and once a second so the
// sliding-window numbers decay when traffic stops.
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { TailFeed } from '../../tail/feed.js';
import type { ConnectionStatus } from '../../tail/client.js';
import type { Trace } from '../../stores/ports.js';
import { headerCells, ms, percent, rowCells, usd } from './format.js';
import { TailModel } from './model.js';

export interface TailAppProps {
  /** Gateway URL, shown in the header */
  url: string;
  feed: TailFeed;
  /** Agent filter to start with (the `--agent` flag) */
  agent?: string | null;
  /** Called when the user quits (after Ink's own exit) */
  onExit?: () => void;
  now?: () => number;
  renderIntervalMs?: number;
  /** Terminal rows; defaults to the real terminal's, else 24 */
  height?: number;
}

/**
 * Lines around the table: two header lines, a blank, the column titles, the key help, and one
 * spare — output as tall as the terminal makes Ink clear the whole screen on every frame (flicker).
 */
const CHROME_LINES = 6;

export function TailApp(props: TailAppProps) {
  const now = props.now ?? Date.now;
  const renderInterval = props.renderIntervalMs ?? 100;
  const { exit } = useApp();
  const { stdout } = useStdout();
  // One model for the component's life: the initial filter is only a starting point.
  const model = useMemo(() => new TailModel(now(), props.agent ?? null), []);
  const [, setVersion] = useState(0);
  const [typing, setTyping] = useState<string | null>(null);
  const pending = useRef<NodeJS.Timeout | null>(null);

  useEffect(() => {
    const rerender = () => setVersion((v) => v + 1);
    const schedule = () => {
      if (pending.current) return;
      pending.current = setTimeout(() => {
        pending.current = null;
        rerender();
      }, renderInterval);
    };
    const unsubscribe = props.feed.subscribe({
      trace(t) {
        model.add(t, now());
        schedule();
      },
      status(s) {
        model.status = s;
        schedule();
      },
      dropped(count) {
        model.droppedByServer += count;
        schedule();
      },
    });
    const tick = setInterval(rerender, 1000);
    const onResize = () => rerender();
    stdout.on('resize', onResize);
    return () => {
      unsubscribe();
      clearInterval(tick);
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
      stdout.off('resize', onResize);
    };
    // Resubscribe only if the feed itself changes; `now`/interval are fixed for a session.
  }, [props.feed]);

  // Keys can arrive faster than React commits state (a paste, a fast typist), so the text being
  // typed lives in a ref and state only triggers the re-render.
  const typingRef = useRef<string | null>(null);
  const setTypingNow = (value: string | null) => {
    typingRef.current = value;
    setTyping(value);
  };

  useInput((input, key) => {
    const typed = typingRef.current;
    if (typed !== null) {
      if (key.return) {
        model.setFilter(typed);
        setTypingNow(null);
      } else if (key.escape) {
        setTypingNow(null);
      } else if (key.backspace || key.delete) {
        setTypingNow(typed.slice(0, -1));
      } else if (input && !key.ctrl && !key.meta) {
        setTypingNow(typed + input);
      }
      return;
    }
    if (input === 'q') {
      exit();
      props.onExit?.();
      return;
    }
    if (input === 'p' || input === ' ') model.togglePause();
    else if (input === 'a') model.cycleFilter();
    else if (input === 'c') model.setFilter(null);
    else if (input === '/') {
      setTypingNow('');
      return;
    } else return;
    setVersion((v) => v + 1);
  });

  const height = props.height ?? stdout.rows ?? 24;
  const rows = model.rows(Math.max(1, height - CHROME_LINES));
  const stats = model.stats(now());

  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>ibex tail</Text> {props.url} <StatusBadge status={model.status} />
        {'  '}cost <Text bold>${usd(model.costTotal())}</Text>
      </Text>
      <Text>
        req/s <Text bold>{stats.requestsPerSecond.toFixed(1)}</Text>
        {'  '}errors <Text bold color={stats.errorRate > 0 ? 'red' : undefined}>{percent(stats.errorRate)}</Text>
        {'  '}p99 <Text bold>{stats.p99Ms === null ? '-' : `${ms(stats.p99Ms)} ms`}</Text>
        <Text dimColor> (last 60 s)</Text>
        {'  '}filter <Text bold>{model.filter ?? 'all'}</Text>
        {model.droppedByServer > 0 ? <Text color="yellow">{`  dropped ${model.droppedByServer}`}</Text> : null}
        {model.paused ? <Text color="yellow" bold>{`  PAUSED (+${model.newWhilePaused} new)`}</Text> : null}
      </Text>
      <Text> </Text>
      <Text bold>{headerCells()}</Text>
      {rows.length === 0 ? (
        <Text dimColor>{model.filter ? `no requests from ${model.filter} yet` : 'waiting for requests…'}</Text>
      ) : (
        rows.map((t) => <Row key={t.requestId} trace={t} />)
      )}
      {typing !== null ? (
        <Text>
          agent filter: <Text bold>{typing}</Text>
          <Text dimColor>▌ (enter to apply, esc to cancel)</Text>
        </Text>
      ) : (
        <Text dimColor>q quit · p/space pause · a next agent · / type agent · c clear filter</Text>
      )}
    </Box>
  );
}

function Row({ trace }: { trace: Trace }) {
  const c = rowCells(trace);
  const statusColor = trace.status >= 500 ? 'red' : trace.status >= 400 || trace.errorCode ? 'yellow' : 'green';
  return (
    <Text wrap="truncate-end">
      {c.time} {c.agent} {c.session} {c.model} <Text color={statusColor}>{c.status}</Text> {c.latency} {c.overhead}{' '}
      {c.tokens} {c.cost} {c.clientRequestId}
    </Text>
  );
}

function StatusBadge({ status }: { status: ConnectionStatus }) {
  switch (status.state) {
    case 'connected':
      return <Text color="green">● connected</Text>;
    case 'connecting':
      return <Text color="yellow">○ connecting…</Text>;
    case 'disconnected': {
      const retry = status.retryInMs === undefined ? '' : `, retrying in ${(status.retryInMs / 1000).toFixed(1)}s`;
      return <Text color="red">{`○ disconnected (${status.reason ?? 'unknown'}${retry})`}</Text>;
    }
  }
}
