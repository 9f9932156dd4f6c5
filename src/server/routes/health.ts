// /healthz: the process is up. /readyz: every configured store answers (503 with the failing checks).
// While the gateway drains for shutdown it keeps listening, so /readyz can say 503 "draining" (a load
// balancer then stops sending) and every other new request gets 503 server_shutting_down at once,
// instead of a refused connection.
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../../errors.js';
import type { ReadinessCheck } from '../../stores/ports.js';
import { failureDetail, withDeadline } from '../../util/deadline.js';

/** Routes still served while draining: probes, and the metrics of the drain itself. */
const SERVED_WHILE_DRAINING = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * /readyz's own bound, above the factory's per-store one (stores/factory.ts): a probe always gets an
 * answer within a second, even from a `ready()` that hangs as a whole.
 */
const READY_DEADLINE_MS = 900;

export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<ReadinessCheck[]>, isDraining: () => boolean): void {
  app.addHook('onRequest', (req, reply, done) => {
    if (!isDraining() || SERVED_WHILE_DRAINING.has(req.url.split('?')[0]!)) return done();
    const e = new IbexError('IBEX_ERR_SHUTTING_DOWN');
    void reply.code(e.status).header('connection', 'close').send(e.toBody());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'draining', checks: [] });
    const checks = await withDeadline(ready(), READY_DEADLINE_MS, 'stores').catch((err: Error) => [{ name: 'stores', ok: false, detail: failureDetail(err) }]);
    const ok = checks.every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
  });
}
