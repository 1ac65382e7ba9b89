/**
 * Cluster mode only: SFU rooms across nodes (docs/sfu.md, "Rooms across nodes"). Opens this node's
 * control bus on the cluster's Redis connection and an `SfuRelay` on the SFU feature's rooms, whose
 * media links listen on `cluster.relayAddress`; a node the registry finds dead is dropped
 * (`nodeDown`). Registered after the SFU feature, so at shutdown the relay closes before the SFU
 * rooms, then the bus. Metrics: `parley_sfu_relay_*`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { closeWithApp, type FeatureDeps } from '../../featureTypes.ts';
import type { Cluster } from '../../cluster/Cluster.ts';
import type { SfuRooms } from '../SfuRooms.ts';
import { RedisNodeBus } from './NodeBus.ts';
import type { RelayLink } from './RelayLink.ts';
import { SfuRelay } from './SfuRelay.ts';
import { shareAnnouncements } from './remoteAnnouncements.ts';

export interface SfuRelayFeatureOptions extends FeatureDeps {
  cluster: Cluster;
  sfu: SfuRooms;
}

const DECORATION = 'sfuRelay';

/** The SFU relay of a started app in cluster mode (tests and diagnostics). */
export function sfuRelayOf(app: { readonly http: FastifyInstance }): SfuRelay | undefined {
  return app.http.hasDecorator(DECORATION) ? app.http.getDecorator<SfuRelay>(DECORATION) : undefined;
}

const relayFeature = async (
  http: FastifyInstance,
  { config, cluster, sfu, log, metrics, signaling, events }: SfuRelayFeatureOptions,
): Promise<void> => {
  const relayLog = log.child({ module: 'sfu-relay' });
  const advertised = config.cluster.relayAdvertiseAddress ?? config.cluster.relayAddress;
  const loopback = (host: string): boolean => /^(127\.|::1$|localhost$)/.test(host);
  if (loopback(advertised) && !loopback(config.host))
    relayLog.warn(
      { relayAddress: advertised },
      'SFU media to other nodes uses a loopback address: nodes on other machines cannot reach it; set cluster.relayAddress (PARLEY_RELAY_ADDRESS) to a private address of this node',
    );
  const bus = await RedisNodeBus.open({
    nodeId: cluster.nodeId,
    client: cluster.redis,
    onInvalid: (from, error) => relayLog.warn({ from, err: error }, 'sfu relay: invalid bus message dropped'),
  });
  const relay = new SfuRelay({
    nodeId: cluster.nodeId,
    bus,
    rooms: sfu,
    bindAddress: config.cluster.relayAddress,
    ...(config.cluster.relayAdvertiseAddress ? { advertiseAddress: config.cluster.relayAdvertiseAddress } : {}),
    log: relayLog,
  });
  const offAnnouncements = shareAnnouncements({ bus, sfu, signaling, events, log: relayLog });
  const offDead = cluster.onNodeDead((node) => {
    relay.nodeDown(node);
    // its producers are gone: a subscribe to one answers NOT_FOUND instead of waiting for a dead node
    bus.forgetNode(node).catch((err: unknown) => relayLog.warn({ err, node }, 'sfu relay: could not clear a dead node’s producers'));
  });

  // Open links, and what closed links carried (so the packet counters only grow).
  const links = new Set<RelayLink>();
  const closed = { rtpSent: 0, rtpReceived: 0 };
  relay.on('link', (link) => {
    links.add(link);
    link.once('close', () => {
      links.delete(link);
      closed.rtpSent += link.stats.rtpSent;
      closed.rtpReceived += link.stats.rtpReceived;
    });
  });
  metrics.gauge('parley_sfu_relay_links', 'Media links open to other nodes (one per node pair).', () => [
    { labels: {}, value: links.size },
  ]);
  metrics.gauge('parley_sfu_relay_tracks', 'Tracks relayed between nodes now, by direction.', () => [
    { labels: { direction: 'outgoing' }, value: relay.relayed.outgoing },
    { labels: { direction: 'incoming' }, value: relay.relayed.incoming },
  ]);
  metrics.collectedCounter('parley_sfu_relay_rtp_packets_total', 'RTP packets over the media links to other nodes, by direction.', () => {
    let sent = closed.rtpSent;
    let received = closed.rtpReceived;
    for (const l of links) {
      sent += l.stats.rtpSent;
      received += l.stats.rtpReceived;
    }
    return [
      { labels: { direction: 'sent' }, value: sent },
      { labels: { direction: 'received' }, value: received },
    ];
  });

  closeWithApp(http, 'sfu-relay', log, async () => {
    offDead();
    offAnnouncements();
    relay.close();
    await bus.close();
  });
  http.decorate(DECORATION, relay);
};

export const sfuRelayFeature = fp<SfuRelayFeatureOptions>(relayFeature, { name: 'parley-sfu-relay', fastify: '5.x' });
