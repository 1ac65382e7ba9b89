/**
 * The contract between the app and a feature (room log, media server, SFU): a feature is a Fastify
 * plugin that `createApp()` registers with the app's shared services as its options. It adds its
 * routes in its own (encapsulated) scope, hooks into signaling, and closes its resources with
 * `closeWithApp()`. See docs/server-features.md.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ParleyConfig } from './config.ts';
import type { LogStore } from './roomlog/LogStore.ts';
import type { Signaling } from './signaling/Signaling.ts';
import type { Logger } from './util/logger.ts';
import type { TokenService } from './auth/TokenService.ts';
import type { Metrics } from './metrics/Metrics.ts';
import type { SessionDataHandler } from './media/sessions/sessionData.ts';
import type { IceServerProvider } from './ice/IceServerProvider.ts';
import type { ServerEvents } from './serverEvents.ts';

/** The app's shared services, given to every feature plugin as its options. */
export interface FeatureDeps {
  config: ParleyConfig;
  store: LogStore;
  /** Client events (`registerClientEvent`), membership (`onMembership`), server events (`emitTo`). */
  signaling: Signaling;
  log: Logger;
  /** Verifies access tokens; use `authorize()` from http/tokens.ts in routes. */
  tokens: TokenService;
  metrics: Metrics;
  /** ICE servers (with minted TURN credentials) for server-side peers and WHIP/WHEP Link headers. */
  ice: IceServerProvider;
  /** Tracks and recordings, for integrations (webhooks). */
  events: ServerEvents;
  /** App data on `/offer` and WHEP sessions' data channels (`CreateAppOptions.sessionData`). */
  sessionData?: SessionDataHandler;
}

/** A feature: registered with `http.register(feature, deps)`, in start order. */
export type FeaturePlugin = FastifyPluginAsync<FeatureDeps>;

/**
 * Runs a feature's `close()` when the app shuts down (a Fastify onClose hook: after the sockets
 * and the HTTP server closed, in reverse start order). A failure is logged, and the rest still close.
 */
export function closeWithApp(scope: FastifyInstance, feature: string, log: Logger, close: () => Promise<void> | void): void {
  scope.addHook('onClose', async () => {
    try {
      await close();
    } catch (err) {
      log.error({ err, feature }, 'feature failed to close');
    }
  });
}
