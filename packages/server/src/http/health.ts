import type { FastifyInstance } from 'fastify';
import type { Signaling } from '../signaling/Signaling.ts';

/** `/healthz`: the process is up. `/readyz`: it admits new sessions. */
export function registerHealthRoutes(
  http: FastifyInstance,
  deps: { signaling: Signaling; isClosing: () => boolean },
): void {
  http.get('/healthz', async () => ({ ok: true }));
  http.get('/readyz', async (_req, reply) => {
    if (deps.isClosing()) return reply.status(503).send({ ok: false, reason: 'shutting down' });
    return { ok: true, rooms: deps.signaling.registry.size, peers: deps.signaling.registry.peerCount };
  });
}
