/** Plugs the media server into the app: routes in the feature's own Fastify scope, MediaService lifecycle. */
import { closeWithApp, type FeaturePlugin } from '../featureTypes.ts';
import { registerMediaRoutes } from './http/routes.ts';
import { MediaService } from './MediaService.ts';

export const mediaFeature: FeaturePlugin = async (scope, { config, log, tokens, ice, metrics, events, sessionData }) => {
  const mediaLog = log.child({ module: 'media' });
  const media = new MediaService({
    media: config.media,
    iceServers: (peerId) => ice.forPeer(`media-${peerId}`),
    dataDir: config.dataDir,
    log: mediaLog,
    onRecordingFinished: (info) => events.emit('recordingFinished', info.stream, info),
    ...(sessionData ? { sessionData } : {}),
  });
  closeWithApp(scope, 'media', log, () => media.close());
  metrics.collectedCounter('parley_media_bytes_total', 'Media bytes sent to and received from server-side peers.', () => {
    const { sent, received } = media.bytes();
    return [
      { labels: { direction: 'sent' }, value: sent },
      { labels: { direction: 'received' }, value: received },
    ];
  });
  metrics.gauge('parley_media_sessions', 'Live server-side media sessions.', () => [
    { labels: { role: 'viewer' }, value: media.viewerCount },
    { labels: { role: 'publisher' }, value: media.publisherCount },
  ]);
  registerMediaRoutes(scope, { media, tokens, ice, log: mediaLog });
};
