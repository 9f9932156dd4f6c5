// Shows bench progress: the Ink component on a terminal, one plain line per second otherwise (on
// stderr, so stdout stays the report). Returns the hooks runBench calls and a stop() that must run
// before the report is printed.
import type { BenchHooks, PhaseName } from './run.js';
import type { LoadRun } from './load.js';
import { donePhase, formatPhaseLine, pendingPhase, PhaseTracker, type ProgressView } from './progress-model.js';

export interface ProgressDisplay {
  hooks: BenchHooks;
  stop(): void;
}

const LABELS: Record<PhaseName, string> = { direct: 'direct', gateway: 'gateway', bare: 'bare' };

export async function createProgress(opts: { tty: boolean; phases: PhaseName[]; totalMs: number; warmupMs: number }): Promise<ProgressDisplay> {
  const view: ProgressView = {
    status: '',
    phases: opts.phases.map((p) => pendingPhase(LABELS[p], opts.totalMs, opts.warmupMs)),
  };
  let tracker: { index: number; tracker: PhaseTracker } | undefined;
  let timer: NodeJS.Timeout | undefined;

  let draw: () => void;
  let close: () => void;
  if (opts.tty) {
    const [{ render }, { createElement }, { Progress }] = await Promise.all([import('ink'), import('react'), import('../ui/bench/Progress.js')]);
    const app = render(createElement(Progress, { view: { ...view } }), { exitOnCtrlC: false, patchConsole: false });
    draw = () => app.rerender(createElement(Progress, { view: { ...view, phases: [...view.phases] } }));
    close = () => {
      draw();
      app.unmount();
    };
  } else {
    draw = () => {};
    close = () => {};
  }

  const tick = () => {
    if (!tracker) return;
    view.phases[tracker.index] = tracker.tracker.tick();
    if (opts.tty) draw();
    else process.stderr.write(formatPhaseLine(view.phases[tracker.index]!) + '\n');
  };

  const hooks: BenchHooks = {
    status(line) {
      view.status = line;
      if (opts.tty) draw();
      else process.stderr.write(`bench: ${line}\n`);
    },
    phaseStart(name: PhaseName, run: LoadRun) {
      const index = opts.phases.indexOf(name);
      tracker = { index, tracker: new PhaseTracker(LABELS[name], run.live) };
      clearInterval(timer);
      timer = setInterval(tick, opts.tty ? 250 : 1000);
      timer.unref();
    },
    phaseEnd(name, result) {
      clearInterval(timer);
      tracker = undefined;
      const index = opts.phases.indexOf(name);
      view.phases[index] = donePhase(LABELS[name], result, opts.totalMs, opts.warmupMs);
      if (opts.tty) draw();
      else process.stderr.write(formatPhaseLine(view.phases[index]!) + '\n');
    },
  };

  return {
    hooks,
    stop() {
      clearInterval(timer);
      close();
    },
  };
}
