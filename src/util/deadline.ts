// A deadline for a promise we cannot cancel (a store call): stop waiting, let it finish unobserved.
export class DeadlineError extends Error {
  constructor(
    what: string,
    readonly ms: number,
  ) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
    timer.unref();
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** What a readiness check shows of a failure: the error's message, or `no answer within N ms` for a deadline. */
export function failureDetail(err: Error): string {
  return err instanceof DeadlineError ? `no answer within ${err.ms} ms` : err.message;
}
