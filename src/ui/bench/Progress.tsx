// `ibex bench` progress on a terminal: one row per phase (direct, gateway, floor) with a progress
// bar, live request rate and recent latency, and a status line. A pure component: the caller
// re-renders it with fresh numbers (src/bench/progress.ts), so tests can render any state.
import { Box, Text } from 'ink';
import type { PhaseView, ProgressView } from '../../bench/progress-model.js';

const BAR_WIDTH = 20;

function progressBar(p: PhaseView): string {
  const fraction = p.totalMs > 0 ? Math.min(1, p.elapsedMs / p.totalMs) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  // The warm-up share of the bar is drawn lighter, so it is clear those requests do not count.
  const warm = p.totalMs > 0 ? Math.round((p.warmupMs / p.totalMs) * BAR_WIDTH) : 0;
  let out = '';
  for (let i = 0; i < BAR_WIDTH; i++) out += i < filled ? (i < warm ? '▒' : '█') : '·';
  return out;
}

const lat = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)}ms` : `${ms.toFixed(2)}ms`);

const STATE_COLOR: Record<PhaseView['state'], string> = {
  pending: 'gray',
  warmup: 'yellow',
  measure: 'cyan',
  drain: 'cyan',
  done: 'green',
};

function PhaseRow({ phase }: { phase: PhaseView }) {
  const idle = phase.state === 'pending';
  const stats = idle
    ? ''
    : ` ${String(phase.requests).padStart(7)} req ${phase.rps.toFixed(0).padStart(5)}/s  p50 ${lat(phase.p50).padStart(7)}  p99 ${lat(phase.p99).padStart(7)}`;
  // One Text per row, truncated rather than wrapped on a narrow terminal, so rows never break apart.
  return (
    <Text wrap="truncate-end" color={idle ? 'gray' : undefined}>
      <Text bold={!idle}>{phase.name.padEnd(8)}</Text>
      <Text color={STATE_COLOR[phase.state]}>{(phase.state === 'done' ? '✓ done' : phase.state).padEnd(8)}</Text>
      {progressBar(phase)}
      {stats}
      {phase.errors > 0 ? <Text color="red">{`  ${phase.errors} errors`}</Text> : null}
    </Text>
  );
}

export function Progress({ view }: { view: ProgressView }) {
  return (
    <Box flexDirection="column">
      <Text bold>ibex bench</Text>
      {view.phases.map((p) => (
        <PhaseRow key={p.name} phase={p} />
      ))}
      <Text color="gray">{view.status}</Text>
    </Box>
  );
}
