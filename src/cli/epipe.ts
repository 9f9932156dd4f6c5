// `ibex agent list | head`: once the reader has gone, the next write to stdout fails with EPIPE,
// emitted as an 'error' event that Node turns into a crash with a stack. The reader asked for no more
// output, so this is a normal end: stop quietly. Exiting at once (rather than discarding the rest)
// also ends a follower like `ibex tail --json | head -n 5`.
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // Any other stdout failure is unexpected: keep Node's default (crash with the error).
    throw err;
  });
}
