/** Plugs the SFU into signaling rooms (Socket.IO events, announcements); ICE servers from config. */
import type { FeatureFactory } from '../features.ts';
import { SfuRooms } from './SfuRooms.ts';

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
  return { name: 'sfu', close: async () => rooms.close() };
};
