// Child-process entry of the bare proxy (`ibex bench --baseline bare` spawns it):
//   node dist/src/bench/bare-proxy-main.js --upstream URL [--port N] [--host H] [--connections N]
// prints `bare proxy listening on http://127.0.0.1:PORT` on stdout, runs until SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { startBareProxy } from './bare-proxy.js';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    connections: { type: 'string', default: '256' },
  },
});
if (!values.upstream) {
  process.stderr.write('usage: bare-proxy-main --upstream URL [--port N] [--host H] [--connections N]\n');
  process.exit(2);
}
const proxy = await startBareProxy({
  upstreamUrl: values.upstream,
  port: Number(values.port),
  host: values.host,
  connections: Number(values.connections),
});
process.stdout.write(`bare proxy listening on ${proxy.url}\n`);
const stop = () => {
  proxy.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
