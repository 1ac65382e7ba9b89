import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ConfigError, parseConfig, type ConfigInput, type ParleyConfig } from './config.ts';
import type { LogStore } from './roomlog/LogStore.ts';
import { openStore } from './roomlog/openStore.ts';
import { Signaling, type ParleyIo } from './signaling/Signaling.ts';
import { createLogger, type Logger } from './util/logger.ts';
import { registerHealthRoutes } from './http/health.ts';
import { sendError } from './http/errors.ts';
import type { FeatureDeps } from './featureTypes.ts';
import type { SessionDataHandler } from './media/sessions/sessionData.ts';
import { roomLogFeature, roomLogOf } from './roomlog/feature.ts';
import { mediaFeature } from './media/feature.ts';
import { sfuFeature, sfuRoomsOf } from './sfu/feature.ts';
import { sfuRelayFeature } from './sfu/relay/feature.ts';
import { roomMediaFeature } from './media/rooms/feature.ts';
import { StreamKeys } from './media/rooms/StreamKeys.ts';
import { roomRecordingFeature, roomRecordingsOf } from './media/recording/room/feature.ts';
import { TokenService } from './auth/TokenService.ts';
import { Metrics } from './metrics/Metrics.ts';
import { RateLimiter } from './ratelimit/RateLimiter.ts';
import { openLimits } from './ratelimit/openLimits.ts';
import { guardConnections } from './signaling/connectionGuard.ts';
import { registerTokenRoutes } from './http/tokens.ts';
import { ParleyError } from '@parley-rtc/protocol';
import { IceServerProvider } from './ice/IceServerProvider.ts';
import { registerIceRoutes } from './http/ice.ts';
import { registerDiagnosticsRoutes } from './http/diagnostics.ts';
import { registerSdkRoutes } from './http/sdk.ts';
import { clientAddress, describeTrustProxy, trustFunction, trustProxyWarning } from './http/trustProxy.ts';
import { registerServerApi } from './api/routes.ts';
import { LiveRoomDirectory } from './api/LiveRoomDirectory.ts';
import { startRoomWebhooks } from './webhooks/roomWebhooks.ts';
import { ServerEvents } from './serverEvents.ts';
import { RoomRegistry } from './signaling/RoomRegistry.ts';
import { Cluster } from './cluster/Cluster.ts';
import { redactUrl } from './cluster/redisClient.ts';
import { registerNodeRoutes, sfuConsumers } from './cluster/nodeRoutes.ts';

export interface ParleyApp {
  readonly config: ParleyConfig;
  readonly http: FastifyInstance;
  readonly io: ParleyIo;
  readonly store: LogStore;
  readonly signaling: Signaling;
  readonly log: Logger;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly ice: IceServerProvider;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Graceful, idempotent shutdown: stop admitting, tell clients, close sockets, flush the log. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface CreateAppOptions {
  /** Use this logger instead of creating one from config.logLevel. */
  log?: Logger;
  /** Use this store instead of opening the configured one (the app closes it). */
  store?: LogStore;
  /** Handles app data on `POST /offer` and WHEP sessions' data channels (default: `ping` → `pong` echo). */
  sessionData?: SessionDataHandler;
}

/** Builds and starts a Parley server: HTTP, Socket.IO signaling and the room log. */
export async function createApp(input: ConfigInput | ParleyConfig, options: CreateAppOptions = {}): Promise<ParleyApp> {
  const config = parseConfig(input);
  const https = config.tls ? readTls(config.tls) : undefined;
  const log = options.log ?? createLogger(config.logLevel, config.logFormat);
  const store = options.store ?? (await openStore(config));
  const tokens = new TokenService(config.auth);
  const metrics = new Metrics();
  const ice = new IceServerProvider({ stunUrls: config.stunUrls, turn: config.turn, iceServers: config.iceServers });
  if (tokens.openMode) {
    log.warn(
      'OPEN MODE: no auth.secret is configured, so anyone who can reach this server may join any room, ' +
        'publish, upload and record. Set PARLEY_AUTH_SECRET (or auth.secret) before exposing it.',
    );
  }

  // One trust function for Fastify's request.ip and the Socket.IO handshake, so both agree.
  const trustProxy = trustFunction(config.trustProxy);
  const trustWarning = trustProxyWarning(config.trustProxy, config.host);
  if (trustWarning) log.warn(trustWarning);

  const http = Fastify({
    loggerInstance: log.child({ module: 'http' }, { level: 'warn' }),
    trustProxy: trustProxy ?? false,
    // Features are plugins; their start-up (e.g. sweeping stored files) has no deadline.
    pluginTimeout: 0,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  http.setErrorHandler((err, _req, reply) => {
    if (err instanceof ParleyError) metrics.inc('parley_errors_total', 'Errors answered to clients, by code.', { code: err.code });
    return sendError(reply, err, log);
  });
  // Per-address limits count in Redis in cluster mode (docs/deployment.md#several-nodes).
  const limits = await openLimits(config, log.child({ module: 'ratelimit' })).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const httpRate = new RateLimiter({ ratePerSec: config.rateLimits.httpPerSec, burst: config.rateLimits.httpBurst }, limits.store, 'http');
  http.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/') && !req.url.startsWith('/whip') && !req.url.startsWith('/whep') && !req.url.startsWith('/offer'))
      return;
    const retryAfterMs = await httpRate.take(req.ip);
    if (retryAfterMs > 0) {
      throw new ParleyError('RATE_LIMITED', `too many requests; retry in ${retryAfterMs} ms`, { retryAfterMs });
    }
  });

  // Cluster mode: rooms are mirrored from Redis before the first socket connects.
  const registry = new RoomRegistry(config.limits);
  let cluster: Cluster | undefined;
  try {
    cluster = config.redis.url === undefined ? undefined : await Cluster.connect(config, registry, log);
  } catch (err) {
    await limits.close();
    await store.close();
    throw err;
  }
  const io: ParleyIo = new Server(http.server, {
    maxHttpBufferSize: config.limits.maxFrameBytes,
    serveClient: false,
    cors: { origin: true },
    // Across nodes: websocket only, so a load balancer needs no sticky sessions (docs/deployment.md).
    ...(cluster ? { adapter: cluster.adapter(), transports: ['websocket' as const] } : {}),
  });
  const connectionGuard = guardConnections(io, config.rateLimits, metrics, (req) => clientAddress(req, trustProxy), limits);
  const signaling = new Signaling(io, {
    store,
    tokens,
    metrics,
    eventRate: { ratePerSec: config.rateLimits.eventsPerSec, burst: config.rateLimits.eventBurst },
    log: log.child({ module: 'signaling' }),
    iceServers: (memberId, notAfterSec) => ice.forMember(memberId, notAfterSec),
    limits: config.limits,
    registry,
    shared: cluster?.membership,
    deliverEntry: cluster && ((room, entry) => cluster.deliver(room, entry)),
    primeDelivery: cluster && ((room, lastSeq) => cluster.primeDelivery(room, lastSeq)),
  });

  // Webhooks follow membership from the start; the sender drains (briefly) at shutdown.
  const events = new ServerEvents();
  const webhooks = startRoomWebhooks({ config, signaling, events, log, metrics });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('shutting down');
      signaling.stopAdmitting();
      if (cluster) {
        // Drain: the others see this node draining, then its clients' connections drop the way a
        // network failure drops them. Their seats stay (detached, in Redis): the SDK reconnects,
        // through the load balancer to another node, and resumes; who does not is expired there.
        await cluster.drain();
        for (const socket of io.of('/').sockets.values()) socket.conn.close();
      } else io.emit('session_ended', { reason: 'server-shutdown', message: 'the server is shutting down' });
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await http.close(); // the features close in its onClose hooks, in reverse start order
      signaling.close();
      await webhooks?.close('server shutdown');
      events.close('server shutdown');
      connectionGuard.close();
      httpRate.close();
      await limits.close();
      await cluster?.close();
      await store.close();
      metrics.close();
      log.info('stopped');
    })();
    return closing;
  };

  registerHealthRoutes(http, { signaling, metrics, isClosing: () => closing !== undefined, metricsToken: config.metricsToken });
  registerTokenRoutes(http, tokens, config.auth.apiKeys);
  registerIceRoutes(http, tokens, ice);
  registerDiagnosticsRoutes(http, { config, tokens, ice });
  registerSdkRoutes(http);
  registerNodeRoutes(http, { tokens, apiKeys: config.auth.apiKeys, adminKey: config.adminKey, cluster });
  // The features, in start order: each a Fastify plugin given the shared services.
  const deps: FeatureDeps = {
    config,
    store,
    signaling,
    log,
    tokens,
    metrics,
    ice,
    events,
    ...(options.sessionData ? { sessionData: options.sessionData } : {}),
  };
  try {
    await cluster?.startDelivery(store, (room, entry) => {
      if (entry.kind === 'chat') io.local.to(room).emit('chat_message', entry);
      else io.local.to(room).emit('room_event', entry);
    });
    await http.register(roomLogFeature, deps);
    await http.register(mediaFeature, deps);
    await http.register(sfuFeature, deps);
    await http.register(roomRecordingFeature, deps);
    const sfu = sfuRoomsOf({ http });
    if (!sfu) throw new Error('the SFU feature did not start');
    // Cluster mode: a room's SFU media crosses nodes over one link per node pair (docs/sfu.md).
    if (cluster) await http.register(sfuRelayFeature, { ...deps, cluster, sfu });
    const streamKeys = new StreamKeys(store.streamKeys);
    await http.register(roomMediaFeature, { ...deps, sfu, streamKeys });
    await registerServerApi(http, {
      tokens,
      apiKeys: config.auth.apiKeys,
      adminKey: config.adminKey,
      tokenTtlSec: config.auth.tokenTtlSec,
      streamKeys,
      recordings: roomRecordingsOf({ http }),
      directory: new LiveRoomDirectory({
        signaling,
        store,
        roomLog: roomLogOf(http),
        maxPeersPerRoom: config.limits.maxPeersPerRoom,
        sfu,
        log: log.child({ module: 'api' }),
      }),
    });
  } catch (err) {
    await close();
    throw err;
  }
  const hasWebApp = existsSync(join(config.webDir, 'index.html'));
  if (hasWebApp) {
    await http.register(fastifyStatic, { root: config.webDir, wildcard: false });
  } else {
    log.warn({ webDir: config.webDir }, 'web app not built; run `npm run build:web` to serve it');
  }
  http.setNotFoundHandler((req, reply) => {
    // Client-side routes (e.g. /room/xyz) get the app shell; API paths get a JSON 404.
    const api = ['/api/', '/socket.io', '/whip', '/whep', '/offer', '/metrics'].some((p) => req.url.startsWith(p));
    if (hasWebApp && req.method === 'GET' && !api) return reply.sendFile('index.html');
    return sendError(reply, new ParleyError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`), log);
  });

  try {
    await http.listen({ host: config.host, port: config.port });
  } catch (err) {
    await close();
    throw err;
  }
  const address = http.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${config.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  if (cluster) {
    try {
      await cluster.startHeartbeat(url, () => ({
        rooms: registry.size,
        members: registry.memberCount,
        sfuConsumers: sfuConsumers(http, registry),
      }));
    } catch (err) {
      await close();
      throw err;
    }
  }
  // The start-up line: where to open the app, and what a person would otherwise have to look up.
  log.info(
    {
      url,
      storage: store.kind,
      auth: tokens.openMode ? 'open (no auth.secret: anyone may join)' : 'access tokens required',
      turn: config.turn.secret && config.turn.urls.length ? config.turn.urls.join(' ') : 'not configured (host candidates only)',
      webApp: hasWebApp ? `${url}/` : 'not built',
      trustProxy: describeTrustProxy(config.trustProxy),
      cluster: cluster ? `node ${cluster.nodeId} (redis ${redactUrl(config.redis.url ?? '')})` : 'off (one node)',
    },
    'parley listening',
  );

  return {
    config,
    http,
    io,
    store,
    signaling,
    log,
    tokens,
    metrics,
    ice,
    url,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function readTls(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (err) {
    throw new ConfigError(`cannot read TLS certificate or key: ${(err as Error).message}`);
  }
}
