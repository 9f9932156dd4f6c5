// The two request headers `ibex sessions replay` sends through the gateway:
//   X-Ibex-Replay-Of: SESSION:TURN       recorded on the new checkpoint (`replayOf`)
//   X-Ibex-Directive-Version: V          honoured only together with X-Ibex-Replay-Of: the turn is
//                                        replayed under version V of the agent's directive instead
//                                        of the current one (any other caller always gets the current)
import { IbexError } from '../errors.js';
import type { Directive } from '../stores/ports.js';

type Headers = Record<string, string | string[] | undefined>;

export const REPLAY_OF_HEADER = 'x-ibex-replay-of';
export const DIRECTIVE_VERSION_HEADER = 'x-ibex-directive-version';

const REPLAY_OF_RE = /^[A-Za-z0-9_.-]{1,128}:[1-9]\d{0,8}$/;

/** `SESSION:TURN` when the request is a replay (a malformed value is refused: 400). */
export function replayOfHeader(headers: Headers): string | null {
  const v = headers[REPLAY_OF_HEADER];
  if (v === undefined) return null;
  if (typeof v !== 'string' || !REPLAY_OF_RE.test(v)) {
    throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'X-Ibex-Replay-Of must be SESSION:TURN.', param: REPLAY_OF_HEADER });
  }
  return v;
}

/** The directive version a replay pins, or null (not a replay, or no version asked). */
export function replayDirectiveVersion(headers: Headers): number | null {
  const v = headers[DIRECTIVE_VERSION_HEADER];
  if (v === undefined || replayOfHeader(headers) === null) return null;
  const n = typeof v === 'string' && /^[1-9]\d{0,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n > 2_147_483_647) {
    throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'X-Ibex-Directive-Version must be a version number.', param: DIRECTIVE_VERSION_HEADER });
  }
  return n;
}

/** Version `version` of the agent's directive; 400 when it does not exist. */
export async function pinnedDirective(
  deps: { directiveVersion?(agent: string, version: number): Promise<Directive | null> },
  agent: string,
  version: number,
): Promise<Directive> {
  const d = deps.directiveVersion ? await deps.directiveVersion(agent, version) : null;
  if (!d) {
    throw new IbexError('IBEX_ERR_INVALID_REQUEST', {
      message: `Agent "${agent}" has no directive version ${version}.`,
      param: DIRECTIVE_VERSION_HEADER,
    });
  }
  return d;
}
