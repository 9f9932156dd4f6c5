// /healthz: the process is up. /readyz: every configured store answers (503 with the failing checks).
import type { FastifyInstance } from 'fastify';
import type { ReadinessCheck } from '../../stores/ports.js';

export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<ReadinessCheck[]>, isDraining: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await ready().catch((err: Error) => [{ name: 'stores', ok: false, detail: err.message }]);
    const draining = isDraining();
    const ok = !draining && checks.every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : draining ? 'draining' : 'unavailable', checks });
  });
}
