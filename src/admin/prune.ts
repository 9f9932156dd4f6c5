// POST /admin/v1/prune: run retention now on the gateway's own stores and settings (`ibex prune
// --url`), exactly as `ibex prune` does where the stores are reachable. The gateway also prunes in the
// background; this is for an operator who wants it done (or counted, with dryRun) now.
import type { FastifyInstance } from 'fastify';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { PruneBody, PruneReport, writeErrors } from './schemas.js';

export function registerPruneRoute(app: FastifyInstance, deps: AdminApiDeps): void {
  const prune = deps.prune;
  if (!prune) return;
  app.post(
    `${ADMIN_PREFIX}/prune`,
    {
      schema: {
        tags: ['retention'],
        summary: 'Delete traces and sessions older than their retention now (dryRun: only count them)',
        body: PruneBody,
        response: { 200: PruneReport, ...writeErrors() },
      },
    },
    async (request) => prune({ dryRun: (request.body as { dryRun?: boolean } | undefined)?.dryRun === true }),
  );
}
