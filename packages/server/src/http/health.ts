import type { FastifyInstance } from 'fastify';
import type { Signaling } from '../signaling/Signaling.ts';
import type { Metrics } from '../metrics/Metrics.ts';

/** `/healthz`: the process is up. `/readyz`: it admits new sessions. `/metrics`: Prometheus. */
export function registerHealthRoutes(
  http: FastifyInstance,
  deps: { signaling: Signaling; metrics: Metrics; isClosing: () => boolean },
): void {
  http.get('/metrics', async (_req, reply) =>
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render()),
  );
  http.get('/healthz', async () => ({ ok: true }));
  http.get('/readyz', async (_req, reply) => {
    if (deps.isClosing()) return reply.status(503).send({ ok: false, reason: 'shutting down' });
    return { ok: true, rooms: deps.signaling.registry.size, peers: deps.signaling.registry.peerCount };
  });
}
