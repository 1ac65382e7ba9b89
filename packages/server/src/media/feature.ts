/** Plugs the media server into the app: routes in their own Fastify scope, MediaService lifecycle. */
import type { FeatureFactory } from '../features.ts';
import { registerMediaRoutes } from './http/routes.ts';
import { MediaService } from './MediaService.ts';

export const mediaFeature: FeatureFactory = async ({ config, http, log, tokens, ice }) => {
  const mediaLog = log.child({ module: 'media' });
  const media = new MediaService({
    media: config.media,
    iceServers: (peerId) => ice.forPeer(`media-${peerId}`),
    dataDir: config.dataDir,
    log: mediaLog,
  });
  await http.register(async (scope) => registerMediaRoutes(scope, { media, tokens, ice, log: mediaLog }));
  return { name: 'media', close: () => media.close() };
};
