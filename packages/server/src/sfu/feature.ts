/** Plugs the SFU into signaling rooms (Socket.IO events, announcements); ICE servers from config. */
import type { Feature, FeatureFactory } from '../featureTypes.ts';
import { SfuRooms } from './SfuRooms.ts';
import { registerSfuMetrics } from '../metrics/sfuMetrics.ts';

const roomsOf = new WeakMap<Feature, SfuRooms>();

/** The SFU rooms of a started app (for tests and diagnostics: read `router(room)`, change nothing). */
export function sfuRoomsOf(app: { readonly features: readonly Feature[] }): SfuRooms | undefined {
  for (const feature of app.features) {
    const rooms = roomsOf.get(feature);
    if (rooms) return rooms;
  }
  return undefined;
}

export const sfuFeature: FeatureFactory = async ({ config, signaling, log, ice, metrics }) => {
  const m = config.media;
  const rooms = new SfuRooms({
    signaling,
    log: log.child({ module: 'sfu' }),
    meshMaxPeers: m.sfuMeshMaxPeers,
    peerOptions: (peerId) => ({
      iceServers: ice.forPeer(`sfu-${peerId}`),
      bindAddress: m.bindAddress,
      portRangeBegin: m.portRangeBegin,
      portRangeEnd: m.portRangeEnd,
    }),
  });
  metrics.gauge('parley_sfu_rooms', 'Rooms with an SFU router on this node.', () => [{ labels: {}, value: rooms.routerCount }]);
  registerSfuMetrics(metrics, () => [...signaling.registry.rooms()].flatMap((r) => rooms.router(r.name) ?? []));
  const feature: Feature = { name: 'sfu', close: async () => rooms.close() };
  roomsOf.set(feature, rooms);
  return feature;
};
