import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { iceServerSchema } from '@parley-rtc/protocol';
import { mediaConfigSchema } from './media/config.ts';
import { parseTrustProxyText, trustProxySchema } from './http/trustProxy.ts';
import { webhookConfigSchema, webhookSigner } from './webhooks/config.ts';

const defaultWebDir = fileURLToPath(new URL('../web', import.meta.url));

/** The whole server configuration. Every field has a default that needs nothing else installed. */
export const configSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  dataDir: z.string().default('./data'),
  /** Serve HTTPS directly (PEM files). Behind a TLS-terminating proxy, leave unset. */
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  /**
   * Reverse proxies whose `X-Forwarded-For` names the client (per-IP limits, logs): `false`,
   * `true`, a hop count, or addresses/CIDRs such as `["127.0.0.1", "10.0.0.0/8"]`.
   */
  trustProxy: trustProxySchema.default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: coloured lines for people when stdout is a terminal, JSON lines otherwise. */
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /** Directory of the built web app; served at `/` when it exists. */
  webDir: z.string().default(defaultWebDir),
  storage: z
    .strictObject({
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** SQLite file; defaults to `<dataDir>/parley.db`. */
      sqlitePath: z.string().optional(),
      sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
      /** `auto`: node:sqlite where Node has it (22.13+), else better-sqlite3 (an optional dependency). */
      sqliteDriver: z.enum(['auto', 'node', 'better-sqlite3']).default('auto'),
      postgresUrl: z.string().optional(),
    })
    .default({ driver: 'sqlite', sqliteSynchronous: 'full', sqliteDriver: 'auto' }),
  auth: z
    .strictObject({
      /** HS256 secret for access tokens. Unset (and no apiKeys): open mode, anyone may join any room. */
      secret: z.string().min(16, 'auth.secret must be at least 16 characters').optional(),
      /** API key → secret pairs; tokens name their key in the JWT `kid` header. */
      apiKeys: z.record(z.string().min(1), z.string().min(16)).default({}),
      /** Lifetime of tokens minted by `parley token` and POST /api/tokens, seconds. */
      tokenTtlSec: z
        .number()
        .int()
        .min(60)
        .default(6 * 3600),
      /**
       * An identity provider's JSON Web Key Set (https://idp.example.com/.well-known/jwks.json):
       * RS256/ES256 tokens are verified against it, with the same claims as Parley's own tokens.
       */
      jwksUrl: z.url({ protocol: /^https?$/, error: 'auth.jwksUrl must be an http(s) URL' }).optional(),
      /** Required `iss` claim of identity-provider (JWKS) tokens. */
      issuer: z.string().min(1).optional(),
      /** Required `aud` claim of identity-provider (JWKS) tokens. */
      audience: z.string().min(1).optional(),
    })
    .default({ apiKeys: {}, tokenTtlSec: 6 * 3600 }),
  rateLimits: z
    .strictObject({
      /** Signaling events per socket: sustained rate and burst. */
      eventsPerSec: z.number().positive().default(50),
      eventBurst: z.number().int().min(1).default(200),
      /** New Socket.IO connections per IP address: per minute and burst. */
      connectionsPerMin: z.number().positive().default(120),
      connectionBurst: z.number().int().min(1).default(60),
      /** Concurrent Socket.IO connections per IP address. */
      maxConnectionsPerIp: z.number().int().min(1).default(100),
      /** HTTP API requests per IP address: per second and burst. */
      httpPerSec: z.number().positive().default(50),
      httpBurst: z.number().int().min(1).default(200),
    })
    .default({
      eventsPerSec: 50,
      eventBurst: 200,
      connectionsPerMin: 120,
      connectionBurst: 60,
      maxConnectionsPerIp: 100,
      httpPerSec: 50,
      httpBurst: 200,
    }),
  /**
   * Extra ICE servers handed to clients as they are. Empty by default: host candidates only.
   * TURN belongs in `turn` (credentials are minted per participant), so a turn: URL here with a
   * static password is refused.
   */
  iceServers: z
    .array(iceServerSchema)
    .default([])
    .refine(
      (servers) => servers.every((s) => s.credential === undefined),
      'iceServers must not carry static credentials; configure turn.urls and turn.secret instead',
    ),
  /** STUN URLs handed to clients, e.g. ["stun:turn.example.com:3478"]. */
  stunUrls: z.array(z.string().regex(/^stuns?:/, 'STUN URLs start with stun: or stuns:')).default([]),
  turn: z
    .strictObject({
      /** e.g. ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"] */
      urls: z.array(z.string().regex(/^turns?:/, 'TURN URLs start with turn: or turns:')).default([]),
      /** coturn's static-auth-secret; short-lived credentials are minted from it. */
      secret: z.string().min(16, 'turn.secret must be at least 16 characters').optional(),
      /** Lifetime of minted TURN credentials, seconds. */
      ttlSec: z.number().int().min(60).default(3600),
    })
    .default({ urls: [], ttlSec: 3600 }),
  /** Media server: sources, WHIP/WHEP, recording (docs/media.md). */
  media: mediaConfigSchema.default(mediaConfigSchema.parse({})),
  limits: z
    .strictObject({
      /** Largest Socket.IO frame accepted, in bytes. */
      maxFrameBytes: z
        .number()
        .int()
        .min(1024)
        .default(256 * 1024),
      maxPeersPerRoom: z.number().int().min(1).default(50),
      maxRooms: z.number().int().min(1).default(1000),
      /** Entries sent in the join ack to a client that has seen nothing yet. */
      joinCatchUp: z.number().int().min(0).max(500).default(50),
      /** A peer whose connection dropped stays in its room this long, resumable, before it leaves. */
      resumeGraceMs: z.number().int().min(0).max(300_000).default(15_000),
      /** Most entries replayed to a reconnecting client in its join ack; the rest via `history`. */
      maxReplay: z.number().int().min(1).default(10_000),
      /** Largest room_event body, in bytes of JSON. */
      maxEventBytes: z
        .number()
        .int()
        .min(16)
        .default(16 * 1024),
      /** Acks not answered within this many ms count as failed (client side default). */
      ackTimeoutMs: z.number().int().min(100).default(10_000),
    })
    .default({
      maxFrameBytes: 256 * 1024,
      maxPeersPerRoom: 50,
      maxRooms: 1000,
      joinCatchUp: 50,
      resumeGraceMs: 15_000,
      maxReplay: 10_000,
      maxEventBytes: 16 * 1024,
      ackTimeoutMs: 10_000,
    }),
  /** Uploaded files (docs/room-log.md). */
  files: z
    .strictObject({
      /**
       * Where file contents live: `disk` (a directory), `postgres` (the room log's database, chunked;
       * needs storage.driver postgres) or `auto`: postgres in cluster mode unless `dir` is set, else disk.
       */
      store: z.enum(['auto', 'disk', 'postgres']).default('auto'),
      /** Blob directory; defaults to `<dataDir>/files`. In cluster mode, one every node shares. */
      dir: z.string().optional(),
      /** Largest upload in bytes. */
      maxBytes: z
        .number()
        .int()
        .min(1)
        .default(100 * 1024 * 1024),
    })
    .default({ store: 'auto', maxBytes: 100 * 1024 * 1024 }),
  /** Room-log retention, enforced by a background job (docs/room-log.md). Unset = keep forever. */
  retention: z
    .strictObject({
      maxAgeMs: z.number().int().min(1).optional(),
      maxBytes: z.number().int().min(1).optional(),
      /** How often the job runs. */
      intervalMs: z.number().int().min(10).default(60_000),
      /** Per-room overrides by room name; a field set here replaces the global one. */
      rooms: z
        .record(z.string(), z.strictObject({ maxAgeMs: z.number().int().min(1).optional(), maxBytes: z.number().int().min(1).optional() }))
        .default({}),
    })
    .default({ intervalMs: 60_000, rooms: {} }),
  /**
   * Cluster mode (docs/deployment.md#several-nodes): set `redis.url` and several nodes share rooms,
   * presence, resume seats and signaling through Redis. The room log must then be PostgreSQL.
   */
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'redis.url starts with redis:// or rediss://')
        .optional(),
    })
    .default({}),
  /** This node in a cluster (used only with `redis.url`). */
  cluster: z
    .strictObject({
      /** Unique per node; defaults to `<hostname>-<random>`. */
      nodeId: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'cluster.nodeId: letters, digits, . _ - (at most 64)')
        .optional(),
      /** The URL clients (and the load balancer) reach this node at; defaults to the listening URL. */
      address: z.string().optional(),
      /** How often the node writes its heartbeat, ms. */
      heartbeatMs: z.number().int().min(100).default(2000),
      /** A node whose heartbeat is this old is dead: its members' seats wait `limits.resumeGraceMs`, then end. */
      deadAfterMs: z.number().int().min(300).default(5000),
      /**
       * SFU rooms across nodes: the address this node's media links to other nodes listen on (UDP,
       * unencrypted: a private address). Other nodes send to it unless `relayAdvertiseAddress` is set.
       */
      relayAddress: z.string().min(1).default('127.0.0.1'),
      /** The address other nodes send this node's media links to (behind NAT or with `relayAddress` 0.0.0.0). */
      relayAdvertiseAddress: z.string().min(1).optional(),
    })
    .default({ heartbeatMs: 2000, deadAfterMs: 5000, relayAddress: '127.0.0.1' }),
  /** Bearer token that `/metrics` requires; unset leaves it open (bind it to a private interface then). */
  metricsToken: z.string().min(16).optional(),
  /** Room events POSTed to your endpoints, signed (docs/server-api.md#webhooks). */
  webhooks: webhookConfigSchema.default(webhookConfigSchema.parse({})),
  /** Bearer key for admin HTTP calls (DELETE /api/rooms/:room). Unset disables them. */
  adminKey: z.string().min(16).optional(),
});

export type ParleyConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a config object, turning zod issues into one readable error. */
export function parseConfig(input: unknown): ParleyConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (result.data.redis.url !== undefined && result.data.storage.driver !== 'postgres') {
    throw new ConfigError(
      'invalid configuration:\n  - redis.url turns on cluster mode, where every node must read and write one shared room log; ' +
        'SQLite is a file on one machine, so set storage.driver to postgres (PARLEY_STORAGE=postgres, PARLEY_POSTGRES_URL) or unset redis.url',
    );
  }
  if (result.data.cluster.deadAfterMs <= result.data.cluster.heartbeatMs) {
    throw new ConfigError('invalid configuration:\n  - cluster.deadAfterMs must be longer than cluster.heartbeatMs');
  }
  const signer = webhookSigner(result.data.webhooks, result.data.auth);
  if (typeof signer === 'string') throw new ConfigError(`invalid configuration:\n  - ${signer}`);
  return result.data;
}

/** Environment variables that map onto config fields. */
const ENV_KEYS: Record<string, (v: string) => [string[], unknown]> = {
  PARLEY_HOST: (v) => [['host'], v],
  PARLEY_PORT: (v) => [['port'], Number(v)],
  PORT: (v) => [['port'], Number(v)],
  PARLEY_DATA_DIR: (v) => [['dataDir'], v],
  PARLEY_LOG_LEVEL: (v) => [['logLevel'], v],
  PARLEY_LOG_FORMAT: (v) => [['logFormat'], v],
  PARLEY_WEB_DIR: (v) => [['webDir'], v],
  PARLEY_STORAGE: (v) => [['storage', 'driver'], v],
  PARLEY_POSTGRES_URL: (v) => [['storage', 'postgresUrl'], v],
  PARLEY_FILES_STORE: (v) => [['files', 'store'], v],
  PARLEY_FILES_DIR: (v) => [['files', 'dir'], v],
  PARLEY_SQLITE_DRIVER: (v) => [['storage', 'sqliteDriver'], v],
  PARLEY_ADMIN_KEY: (v) => [['adminKey'], v],
  PARLEY_METRICS_TOKEN: (v) => [['metricsToken'], v],
  PARLEY_ICE_SERVERS: (v) => [['iceServers'], JSON.parse(v)],
  PARLEY_AUTH_SECRET: (v) => [['auth', 'secret'], v],
  PARLEY_AUTH_JWKS_URL: (v) => [['auth', 'jwksUrl'], v],
  PARLEY_AUTH_ISSUER: (v) => [['auth', 'issuer'], v],
  PARLEY_AUTH_AUDIENCE: (v) => [['auth', 'audience'], v],
  PARLEY_TLS_CERT: (v) => [['tls', 'cert'], v],
  PARLEY_TLS_KEY: (v) => [['tls', 'key'], v],
  PARLEY_TRUST_PROXY: (v) => [['trustProxy'], parseTrustProxyText(v)],
  PARLEY_TURN_SECRET: (v) => [['turn', 'secret'], v],
  PARLEY_TURN_URLS: (v) => [['turn', 'urls'], v.split(',').map((u) => u.trim())],
  PARLEY_WEBHOOK_URLS: (v) => [['webhooks', 'urls'], v.split(',').map((u) => u.trim())],
  PARLEY_WEBHOOK_SECRET: (v) => [['webhooks', 'secret'], v],
  PARLEY_WEBHOOK_EVENTS: (v) => [['webhooks', 'events'], v.split(',').map((u) => u.trim())],
  PARLEY_STUN_URLS: (v) => [['stunUrls'], v.split(',').map((u) => u.trim())],
  PARLEY_REDIS_URL: (v) => [['redis', 'url'], v],
  PARLEY_NODE_ID: (v) => [['cluster', 'nodeId'], v],
  PARLEY_NODE_ADDRESS: (v) => [['cluster', 'address'], v],
  PARLEY_RELAY_ADDRESS: (v) => [['cluster', 'relayAddress'], v],
  PARLEY_RELAY_ADVERTISE_ADDRESS: (v) => [['cluster', 'relayAdvertiseAddress'], v],
};

/** Command-line flags that map onto config fields (`--port 9000`, `--storage postgres`). */
export const FLAG_KEYS: Record<string, (v: string) => [string[], unknown]> = {
  host: (v) => [['host'], v],
  port: (v) => [['port'], Number(v)],
  'data-dir': (v) => [['dataDir'], v],
  'log-level': (v) => [['logLevel'], v],
  'log-format': (v) => [['logFormat'], v],
  'web-dir': (v) => [['webDir'], v],
  storage: (v) => [['storage', 'driver'], v],
  'postgres-url': (v) => [['storage', 'postgresUrl'], v],
  'auth-secret': (v) => [['auth', 'secret'], v],
  'auth-jwks-url': (v) => [['auth', 'jwksUrl'], v],
  'auth-issuer': (v) => [['auth', 'issuer'], v],
  'auth-audience': (v) => [['auth', 'audience'], v],
  'tls-cert': (v) => [['tls', 'cert'], v],
  'tls-key': (v) => [['tls', 'key'], v],
  'trust-proxy': (v) => [['trustProxy'], parseTrustProxyText(v)],
  'redis-url': (v) => [['redis', 'url'], v],
  'node-id': (v) => [['cluster', 'nodeId'], v],
  'node-address': (v) => [['cluster', 'address'], v],
  'relay-address': (v) => [['cluster', 'relayAddress'], v],
  'relay-advertise-address': (v) => [['cluster', 'relayAdvertiseAddress'], v],
};

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * Builds the configuration from, in rising priority: defaults, a JSON config file
 * (`--config FILE` or PARLEY_CONFIG), environment variables, and flags.
 */
export function loadConfig(flags: Record<string, string>, env: NodeJS.ProcessEnv = process.env): ParleyConfig {
  const file = flags['config'] ?? env['PARLEY_CONFIG'];
  let input: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error('the top level must be an object');
      }
      input = { ...parsed };
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  for (const [name, map] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    try {
      const [path, v] = map(value);
      setPath(input, path, v);
    } catch (err) {
      throw new ConfigError(`environment variable ${name}: ${(err as Error).message}`);
    }
  }
  for (const [name, value] of Object.entries(flags)) {
    if (name === 'config') continue;
    const map = FLAG_KEYS[name];
    if (!map) throw new ConfigError(`unknown flag --${name}`);
    const [path, v] = map(value);
    setPath(input, path, v);
  }
  return parseConfig(input);
}
