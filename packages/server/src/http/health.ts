import type { FastifyInstance } from 'fastify';
import type { Signaling } from '../signaling/Signaling.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import { ParleyError } from '@parley-rtc/protocol';
import { sameSecret } from '../util/sameSecret.ts';
import { bearerToken } from './tokens.ts';

/**
 * `/healthz`: the process is up. `/readyz`: it admits new sessions. `/metrics`: Prometheus, behind
 * `Authorization: Bearer <metricsToken>` when one is configured (it shows load and room counts).
 */
export function registerHealthRoutes(
  http: FastifyInstance,
  deps: { signaling: Signaling; metrics: Metrics; isClosing: () => boolean; metricsToken?: string | undefined },
): void {
  http.get('/metrics', async (req, reply) => {
    const token = deps.metricsToken;
    if (token !== undefined) {
      const given = bearerToken(req);
      if (given === undefined) throw new ParleyError('UNAUTHORIZED', 'send Authorization: Bearer <metricsToken>');
      if (!sameSecret(given, token)) throw new ParleyError('FORBIDDEN', 'wrong metrics token');
    }
    return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render());
  });
  http.get('/healthz', async () => ({ ok: true }));
  http.get('/readyz', async (_req, reply) => {
    if (deps.isClosing()) return reply.status(503).send({ ok: false, reason: 'shutting down' });
    return { ok: true, rooms: deps.signaling.registry.size, peers: deps.signaling.registry.memberCount };
  });
}
