/**
 * Plugs rooms meet broadcast into the app: WHIP into rooms and WHEP out of them (routes in the
 * feature's own scope), over the SFU feature's rooms. Registered after the SFU; closes before it.
 */
import { closeWithApp, type FeatureDeps } from '../../featureTypes.ts';
import type { FastifyInstance } from 'fastify';
import type { SfuRooms } from '../../sfu/SfuRooms.ts';
import { RoomMedia } from './RoomMedia.ts';
import { registerRoomMediaRoutes } from './routes.ts';
import type { StreamKeys } from './StreamKeys.ts';

export async function roomMediaFeature(
  scope: FastifyInstance,
  deps: FeatureDeps & { sfu: SfuRooms; streamKeys: StreamKeys },
): Promise<void> {
  const { signaling, log, tokens, ice, metrics, sfu, streamKeys } = deps;
  const rooms = new RoomMedia({
    sfu,
    signaling,
    log: log.child({ module: 'room-media' }),
    maxPerClient: deps.config.media.maxPeersPerClient,
  });
  const offRevoked = streamKeys.on('revoked', (id, room) => rooms.revokeStreamKey(id, room));
  closeWithApp(scope, 'room-media', log, () => {
    offRevoked();
    rooms.close();
  });
  metrics.gauge('parley_room_media_sessions', 'WHIP publishers in rooms and WHEP viewers of rooms.', () => [
    { labels: {}, value: rooms.size },
  ]);
  registerRoomMediaRoutes(scope, { rooms, tokens, ice, streamKeys });
}
