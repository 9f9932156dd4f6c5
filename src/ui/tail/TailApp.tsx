// `ibex tail` on a terminal: a header with live numbers over the last minute and a table that fits
// the window: the newest requests, or (`s` / `--sessions`) the live sessions. Enter opens the
// selected request's trace or the selected session's conversation as it grows; Esc goes back.
//
// Events land in a TailModel (outside React); the component re-renders at most every
// `renderIntervalMs` (10/s by default) however fast traces arrive, and once a second so the
// sliding-window numbers decay when traffic stops.
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { TailFeed } from '../../tail/feed.js';
import type { ConnectionStatus } from '../../tail/client.js';
import type { Checkpoint, Trace } from '../../stores/ports.js';
import {
  columnsFor,
  conversationLines,
  headerCells,
  ms,
  percent,
  rowCells,
  sessionCells,
  sessionHeaderCells,
  timelineLines,
  usd,
  traceDetailLines,
  type Columns,
  type ConversationLine,
} from './format.js';
import { TailModel } from './model.js';
import { SessionTracker, type LiveSession } from './sessions.js';

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
  /** Terminal columns; defaults to the real terminal's, else 80 */
  width?: number;
  /** The view to start in (`--sessions`) */
  view?: 'requests' | 'sessions';
  /**
   * Reads a session's checkpoints (where the CLI has store access); absent (`--url`): the session
   * view shows what the live events carried.
   */
  loadSession?: (id: string) => Promise<Checkpoint[]>;
  /** How often an open session's conversation is re-read (ms) */
  sessionRefreshMs?: number;
}

type Detail = { kind: 'trace'; trace: Trace } | { kind: 'session'; id: string };

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
  const sessions = useMemo(() => new SessionTracker(), []);
  const [, setVersion] = useState(0);
  const [view, setView] = useState<'requests' | 'sessions'>(props.view ?? 'requests');
  // The selected row by id (request or session), so rows arriving above it do not move the selection.
  const [selected, setSelectedState] = useState<string | null>(null);
  // Read by the key handler, which may run again before React commits the last move (fast keys).
  const selectedRef = useRef<string | null>(null);
  const setSelected = (id: string | null) => {
    selectedRef.current = id;
    setSelectedState(id);
  };
  const [detail, setDetailState] = useState<Detail | null>(null);
  const detailRef = useRef<Detail | null>(null);
  const setDetail = (d: Detail | null) => {
    detailRef.current = d;
    setDetailState(d);
  };
  const viewRef = useRef(view);
  viewRef.current = view;
  const [conversation, setConversation] = useState<{ id: string; checkpoints: Checkpoint[] | null; error?: string } | null>(null);
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
        sessions.add(t);
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

  // An open session's conversation is re-read while it is shown: it grows as turns are checkpointed.
  const openSession = detail?.kind === 'session' ? detail.id : null;
  useEffect(() => {
    if (!openSession || !props.loadSession) return;
    let stopped = false;
    const load = () =>
      props.loadSession!(openSession).then(
        (checkpoints) => !stopped && setConversation({ id: openSession, checkpoints }),
        (err: Error) => !stopped && setConversation({ id: openSession, checkpoints: null, error: err.message }),
      );
    void load();
    const timer = setInterval(() => void load(), props.sessionRefreshMs ?? 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [openSession]);

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
    if (detailRef.current) {
      if (key.escape || key.backspace || key.delete || key.leftArrow || input === 'b') {
        setDetail(null);
        setConversation(null);
      }
      return;
    }
    if (key.upArrow || key.downArrow || input === 'k' || input === 'j') {
      const ids = visibleIds();
      if (!ids.length) return;
      const cur = selectedRef.current;
      const i = cur === null ? -1 : ids.indexOf(cur);
      const next = key.upArrow || input === 'k' ? Math.max(0, i - 1) : Math.min(ids.length - 1, i + 1);
      setSelected(ids[next]!);
      return;
    }
    if (key.return) {
      const ids = visibleIds();
      const cur = selectedRef.current;
      const id = cur !== null && ids.includes(cur) ? cur : ids[0];
      if (id === undefined) return;
      if (viewRef.current === 'sessions') setDetail({ kind: 'session', id });
      else {
        const trace = model.rows(Number.MAX_SAFE_INTEGER).find((t) => t.requestId === id);
        if (trace) setDetail({ kind: 'trace', trace });
      }
      return;
    }
    if (input === 's' || key.tab) {
      viewRef.current = viewRef.current === 'requests' ? 'sessions' : 'requests';
      setView(viewRef.current);
      setSelected(null);
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
  const tableLines = Math.max(1, height - CHROME_LINES);
  const cols = columnsFor(props.width ?? stdout.columns ?? 80);
  const rows = model.rows(tableLines);
  const liveSessions = sessions.list(tableLines, model.filter);
  const stats = model.stats(now());
  // The ids of the rows on screen, for moving the selection (read at key time: the latest rows).
  function visibleIds(): string[] {
    return viewRef.current === 'sessions' ? sessions.list(tableLines, model.filter).map((x) => x.id) : model.rows(tableLines).map((t) => t.requestId);
  }

  if (detail?.kind === 'trace') {
    return (
      <Box flexDirection="column">
        <Text>
          <Text bold>ibex tail</Text> · request <Text bold>{detail.trace.requestId}</Text>
        </Text>
        <Text> </Text>
        {traceDetailLines(detail.trace).map((l, i) => (
          <Text key={i} wrap="truncate-end">
            {l}
          </Text>
        ))}
        <Text dimColor>esc back · q quit</Text>
      </Box>
    );
  }
  if (detail?.kind === 'session') {
    const live = sessions.get(detail.id);
    const loaded = conversation?.id === detail.id ? conversation : null;
    let lines: ConversationLine[];
    let note: string | null = null;
    if (props.loadSession && loaded?.checkpoints) {
      lines = conversationLines(loaded.checkpoints);
      const pending = (live?.turns ?? 0) - loaded.checkpoints.length;
      if (pending > 0) note = `${pending} turn(s) not checkpointed yet`;
    } else {
      lines = live ? timelineLines(live) : [];
      note = props.loadSession
        ? loaded?.error
          ? `cannot read the session store: ${loaded.error}`
          : 'loading…'
        : 'live events only (--url): the conversation text is in `ibex sessions show` where the store is reachable';
    }
    const room = Math.max(1, height - 5);
    return (
      <Box flexDirection="column">
        <Text wrap="truncate-end">
          <Text bold>ibex tail</Text> · session <Text bold>{detail.id}</Text>
          {live ? ` · ${live.agent ?? '-'} · ${live.directiveVersion === null ? 'no directive' : `v${live.directiveVersion}`} · ${live.turns} turns · ${live.tokens} tokens` : ''}
        </Text>
        {note ? <Text dimColor wrap="truncate-end">{note}</Text> : <Text> </Text>}
        {lines.length === 0 ? <Text dimColor>no turns yet</Text> : lines.slice(-room).map((l, i) => <ConversationRow key={i} line={l} />)}
        <Text dimColor>esc back · q quit</Text>
      </Box>
    );
  }

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
      <Text dimColor>{view === 'sessions' ? `sessions · ${sessions.size} seen` : 'requests'}</Text>
      {view === 'sessions' ? (
        <>
          <Text bold>{sessionHeaderCells()}</Text>
          {liveSessions.length === 0 ? (
            <Text dimColor>{model.filter ? `no sessions of ${model.filter} yet` : 'waiting for sessions…'}</Text>
          ) : (
            liveSessions.map((x) => <SessionRow key={x.id} session={x} selected={x.id === selected} />)
          )}
        </>
      ) : (
        <>
          <Text bold>{headerCells(cols)}</Text>
          {rows.length === 0 ? (
            <Text dimColor>{model.filter ? `no requests from ${model.filter} yet` : 'waiting for requests…'}</Text>
          ) : (
            rows.map((t) => <Row key={t.requestId} trace={t} cols={cols} selected={t.requestId === selected} />)
          )}
        </>
      )}
      {typing !== null ? (
        <Text>
          agent filter: <Text bold>{typing}</Text>
          <Text dimColor>▌ (enter to apply, esc to cancel)</Text>
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">q quit · s {view === 'sessions' ? 'requests' : 'sessions'} · ↑↓ enter open · p pause · a agent · / type · c clear</Text>
      )}
    </Box>
  );
}

function Row({ trace, cols, selected }: { trace: Trace; cols: Columns; selected: boolean }) {
  const c = rowCells(trace, cols);
  const statusColor = trace.status >= 500 ? 'red' : trace.status >= 400 || trace.errorCode ? 'yellow' : 'green';
  return (
    <Text wrap="truncate-end" inverse={selected}>
      {c.time} {c.agent} {c.session} {c.model} <Text color={statusColor}>{c.status}</Text> <Text color={statusColor}>{c.error}</Text>{' '}
      {c.latency} {c.overhead} {c.tokens} {c.cost} {c.clientRequestId}
    </Text>
  );
}

function SessionRow({ session, selected }: { session: LiveSession; selected: boolean }) {
  return (
    <Text wrap="truncate-end" inverse={selected} color={session.lastStatus >= 500 ? 'red' : session.lastStatus >= 400 ? 'yellow' : undefined}>
      {sessionCells(session)}
    </Text>
  );
}

const LINE_COLORS: Record<ConversationLine['kind'], string | undefined> = {
  directive: 'magenta',
  system: 'magenta',
  user: 'cyan',
  assistant: undefined,
  reply: 'green',
  tool: 'yellow',
  turn: 'gray',
};

function ConversationRow({ line }: { line: ConversationLine }) {
  return (
    <Text wrap="truncate-end" color={LINE_COLORS[line.kind]} dimColor={line.kind === 'turn'}>
      {line.text}
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
