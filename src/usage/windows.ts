// The accounting windows, all in UTC so every replica (and every operator) agrees on when one ends:
// minute (tokens per minute), day (00:00 UTC), week (Monday 00:00 UTC, ISO weeks) and month (the 1st).
export type SpendWindow = 'minute' | 'day' | 'week' | 'month';

export interface WindowSpan {
  /** epoch ms of the window's first instant */
  start: number;
  /** epoch ms of the next window's first instant */
  end: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export function windowAt(kind: SpendWindow, now: number): WindowSpan {
  switch (kind) {
    case 'minute': {
      const start = Math.floor(now / MINUTE) * MINUTE;
      return { start, end: start + MINUTE };
    }
    case 'day': {
      const start = Math.floor(now / DAY) * DAY;
      return { start, end: start + DAY };
    }
    case 'week': {
      const day = Math.floor(now / DAY) * DAY;
      // getUTCDay: 0 = Sunday; ISO weeks start on Monday.
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      const start = day - sinceMonday * DAY;
      return { start, end: start + 7 * DAY };
    }
    case 'month': {
      const d = new Date(now);
      return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
    }
  }
}
