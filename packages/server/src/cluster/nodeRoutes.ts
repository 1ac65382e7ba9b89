/** `GET /api/v1/nodes`: the cluster's live nodes with their load (server API credentials). */
import type { FastifyInstance } from 'fastify';
import { ParleyError } from '@parley-rtc/protocol';
import { API_PREFIX } from '@parley-rtc/protocol/serverApi';
import { authenticateApi, requireServer, type ApiAuthDeps } from '../api/apiAuth.ts';
import { sfuRoomsOf } from '../sfu/feature.ts';
import type { RoomRegistry } from '../signaling/RoomRegistry.ts';
import type { Cluster } from './Cluster.ts';

export interface NodeRouteDeps extends ApiAuthDeps {
  cluster: Cluster | undefined;
}

export function registerNodeRoutes(http: FastifyInstance, deps: NodeRouteDeps): void {
  http.get(`${API_PREFIX}/nodes`, async (req) => {
    requireServer(await authenticateApi(req, deps), 'listing nodes');
    const { cluster } = deps;
    if (!cluster) throw new ParleyError('NOT_FOUND', 'this server is not in a cluster (no redis.url)');
    return { self: cluster.nodeId, nodes: await cluster.nodes() };
  });
}

/** SFU consumers (forwarded tracks) on this node, for its heartbeat. */
export function sfuConsumers(http: FastifyInstance, registry: RoomRegistry): number {
  const sfu = sfuRoomsOf({ http });
  if (!sfu) return 0;
  let n = 0;
  for (const room of registry.rooms()) n += sfu.router(room.name)?.stats().consumers ?? 0;
  return n;
}
