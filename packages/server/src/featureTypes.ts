import type { FastifyInstance } from 'fastify';
import type { ParleyConfig } from './config.ts';
import type { LogStore } from './roomlog/LogStore.ts';
import type { Signaling } from './signaling/Signaling.ts';
import type { Logger } from './util/logger.ts';
import type { TokenService } from './auth/TokenService.ts';
import type { Metrics } from './metrics/Metrics.ts';
import type { IceServerProvider } from './ice/IceServerProvider.ts';

/** What a feature module gets when the app starts. */
export interface FeatureContext {
  config: ParleyConfig;
  http: FastifyInstance;
  store: LogStore;
  signaling: Signaling;
  log: Logger;
  /** Verifies access tokens; use `authorize()` from http/tokens.ts in routes. */
  tokens: TokenService;
  metrics: Metrics;
  /** ICE servers (with minted TURN credentials) for server-side peers and WHIP/WHEP Link headers. */
  ice: IceServerProvider;
}

/** A started feature; `close()` runs during shutdown, before the store is closed. */
export interface Feature {
  readonly name: string;
  close(): Promise<void>;
}

/**
 * A feature registers its HTTP routes and background work. Features start in list order and
 * close in reverse order (children first).
 */
export type FeatureFactory = (ctx: FeatureContext) => Promise<Feature>;
