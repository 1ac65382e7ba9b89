/**
 * Plugs the SFU into signaling rooms (its client events, membership, announcements); ICE servers
 * from config. Wrapped with fastify-plugin so the `sfuRooms` decoration reaches the app's root
 * instance, where `sfuRoomsOf(app)` reads it (the plugin registers no routes or hooks besides onClose).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { closeWithApp, type FeatureDeps, type FeaturePlugin } from '../featureTypes.ts';
import { SfuRooms } from './SfuRooms.ts';
import { registerSfuMetrics } from '../metrics/sfuMetrics.ts';
import { DataForwarder } from './DataForwarder.ts';

const DECORATION = 'sfuRooms';
const DATA_DECORATION = 'sfuData';

/** The SFU rooms of a started app (for tests and diagnostics: read `router(room)`, change nothing). */
export function sfuRoomsOf(app: { readonly http: FastifyInstance }): SfuRooms | undefined {
  return app.http.hasDecorator(DECORATION) ? app.http.getDecorator<SfuRooms>(DECORATION) : undefined;
}

/** The app-data forwarder of a started app (tests and benchmarks read or change its limits). */
export function sfuDataOf(app: { readonly http: FastifyInstance }): DataForwarder | undefined {
  return app.http.hasDecorator(DATA_DECORATION) ? app.http.getDecorator<DataForwarder>(DATA_DECORATION) : undefined;
}

const sfu: FeaturePlugin = async (http, { config, signaling, log, ice, metrics, events }) => {
  const m = config.media;
  const rooms = new SfuRooms({
    signaling,
    log: log.child({ module: 'sfu' }),
    meshMaxPeers: m.sfuMeshMaxPeers,
    events,
    connectionOptions: (connectionId) => ({
      iceServers: ice.forPeer(`sfu-${connectionId}`),
      bindAddress: m.bindAddress,
      portRangeBegin: m.portRangeBegin,
      portRangeEnd: m.portRangeEnd,
    }),
  });
  closeWithApp(http, 'sfu', log, () => rooms.close());
  const data = new DataForwarder({
    signaling,
    metrics,
    log: log.child({ module: 'sfu-data' }),
    connectionOptions: (connectionId) => ({
      iceServers: ice.forPeer(`sfu-${connectionId}`),
      bindAddress: m.bindAddress,
      portRangeBegin: m.portRangeBegin,
      portRangeEnd: m.portRangeEnd,
    }),
  });
  closeWithApp(http, 'sfu-data', log, () => data.close());
  http.decorate(DATA_DECORATION, data);
  metrics.gauge('parley_sfu_rooms', 'Rooms with an SFU router on this node.', () => [{ labels: {}, value: rooms.routerCount }]);
  registerSfuMetrics(metrics, () => [...signaling.registry.rooms()].flatMap((r) => rooms.router(r.name) ?? []));
  http.decorate(DECORATION, rooms);
};

export const sfuFeature = fp<FeatureDeps>(sfu, { name: 'parley-sfu', fastify: '5.x' });
