import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { parseConfig, type ConfigInput, type ParleyConfig } from './config.ts';
import type { LogStore } from './roomlog/LogStore.ts';
import { openStore } from './roomlog/openStore.ts';
import { Signaling, type ParleyIo } from './signaling/Signaling.ts';
import { createLogger, type Logger } from './util/logger.ts';
import { registerHealthRoutes } from './http/health.ts';
import { sendError } from './http/errors.ts';
import { FEATURES, type Feature } from './features.ts';

export interface ParleyApp {
  readonly config: ParleyConfig;
  readonly http: FastifyInstance;
  readonly io: ParleyIo;
  readonly store: LogStore;
  readonly signaling: Signaling;
  readonly log: Logger;
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
}

/** Builds and starts a Parley server: HTTP, Socket.IO signaling and the room log. */
export async function createApp(input: ConfigInput | ParleyConfig, options: CreateAppOptions = {}): Promise<ParleyApp> {
  const config = parseConfig(input);
  const log = options.log ?? createLogger(config.logLevel);
  const store = options.store ?? (await openStore(config));

  const http = Fastify({ loggerInstance: log.child({ module: 'http' }, { level: 'warn' }) as FastifyBaseLogger });
  http.setErrorHandler((err, _req, reply) => sendError(reply, err, log));

  const io: ParleyIo = new Server(http.server, {
    maxHttpBufferSize: config.limits.maxFrameBytes,
    serveClient: false,
    cors: { origin: true },
  });
  const signaling = new Signaling(io, {
    store,
    log: log.child({ module: 'signaling' }),
    iceServers: () => config.iceServers,
    limits: config.limits,
  });

  const features: Feature[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('shutting down');
      signaling.stopAdmitting();
      io.emit('session-ended', { reason: 'server-shutdown', message: 'the server is shutting down' });
      await new Promise<void>((resolve) => io.close(() => resolve()));
      for (const feature of [...features].reverse()) {
        try {
          await feature.close();
        } catch (err) {
          log.error({ err, feature: feature.name }, 'feature failed to close');
        }
      }
      await http.close();
      await store.close();
      log.info('stopped');
    })();
    return closing;
  };

  registerHealthRoutes(http, { signaling, isClosing: () => closing !== undefined });
  try {
    for (const start of FEATURES) features.push(await start({ config, http, store, signaling, log }));
  } catch (err) {
    for (const feature of features.reverse()) await feature.close().catch(() => {});
    await store.close();
    throw err;
  }
  if (existsSync(join(config.webDir, 'index.html'))) {
    await http.register(fastifyStatic, { root: config.webDir, wildcard: false });
    // Client-side routes (e.g. /room/xyz) get the app shell.
    http.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/socket.io')) {
        return reply.sendFile('index.html');
      }
      return sendError(reply, Object.assign(new Error('not found'), { statusCode: 404 }), log);
    });
  } else {
    log.warn({ webDir: config.webDir }, 'web app not built; run `npm run build:web` to serve it');
  }

  try {
    await http.listen({ host: config.host, port: config.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = http.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log.info({ url, storage: store.kind }, 'parley listening');

  return {
    config,
    http,
    io,
    store,
    signaling,
    log,
    url,
    close,
    [Symbol.asyncDispose]: close,
  };
}
