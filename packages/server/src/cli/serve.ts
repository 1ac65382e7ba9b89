import { ConfigError, FLAG_KEYS, loadConfig } from '../config.ts';
import { createApp } from '../app.ts';
import { HELP_OPTION, parseCommand } from './args.ts';

/** One line of help per serve flag; a unit test checks every config flag has one. */
export const SERVE_FLAG_HELP: Record<string, string> = {
  config: 'JSON configuration file (or PARLEY_CONFIG)',
  host: 'interface to listen on (127.0.0.1; 0.0.0.0 for every interface)',
  port: 'port (8080; 0 picks a free one)',
  'data-dir': 'where the SQLite room log and uploaded files live (./data in the working directory)',
  storage: 'room log driver: sqlite | postgres',
  'postgres-url': 'PostgreSQL connection string (with --storage postgres)',
  'log-level': 'fatal | error | warn | info | debug | trace | silent',
  'log-format': 'auto (pretty on a terminal, JSON otherwise) | pretty | json',
  'web-dir': 'directory of the built web app (the one shipped in this package)',
  'auth-secret': 'HS256 secret for access tokens, 16+ characters (or PARLEY_AUTH_SECRET); unset = open mode',
  'auth-jwks-url': "identity provider's JWKS URL: its RS256/ES256 tokens are accepted (or PARLEY_AUTH_JWKS_URL)",
  'auth-issuer': 'required iss claim of identity-provider tokens (or PARLEY_AUTH_ISSUER)',
  'auth-audience': 'required aud claim of identity-provider tokens (or PARLEY_AUTH_AUDIENCE)',
  'tls-cert': 'PEM certificate, to serve HTTPS directly',
  'tls-key': 'PEM private key for --tls-cert',
  'trust-proxy': 'proxies whose X-Forwarded-For is believed: true, a hop count, or addresses/CIDRs',
  'redis-url': 'Redis URL: cluster mode, several nodes share rooms (needs --storage postgres)',
  'node-id': "this node's id in a cluster (hostname-random by default)",
  'node-address': 'the URL clients reach this node at, listed in GET /api/v1/nodes (the listening URL by default)',
  'relay-address': "the address this node's SFU media link to other nodes binds to (127.0.0.1 by default; a private one)",
  'relay-advertise-address': 'the address other nodes send relayed media to, when it differs from --relay-address (NAT)',
};

export function serveUsage(): string {
  const names = ['config', ...Object.keys(FLAG_KEYS)];
  const width = Math.max(...names.map((n) => n.length)) + 4;
  const lines = names.map((n) => `  --${n.padEnd(width - 2)}${SERVE_FLAG_HELP[n] ?? ''}`);
  return `usage: parley serve [flags]

Runs the server: signaling, room log, SFU, media server and the web app, on
http://127.0.0.1:8080 by default. Every flag can also be set in the --config file
or a PARLEY_* environment variable (see docs/deployment.md).

flags:
${lines.join('\n')}
${'  -h, --help'.padEnd(width + 2)}this help
`;
}

/** `parley serve`: runs until SIGINT/SIGTERM, then drains and exits (a second signal exits at once). */
export async function serve(args: string[]): Promise<void> {
  const options = Object.fromEntries(['config', ...Object.keys(FLAG_KEYS)].map((n) => [n, { type: 'string' as const }]));
  const values = parseCommand('serve', args, { ...options, ...HELP_OPTION });
  if (values['help']) {
    process.stdout.write(serveUsage());
    return;
  }
  const flags: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (typeof value === 'string') flags[name] = value;
  const app = await createApp(loadConfig(flags));
  let signals = 0;
  // Logging must not stand between a signal and the exit (stdout may be a pipe whose reader is gone).
  const note = (fn: () => void) => {
    try {
      fn();
    } catch {
      // nowhere left to log to
    }
  };
  const stop = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      note(() => app.log.warn({ signal }, 'second signal: exiting now'));
      process.exit(1);
    }
    note(() => app.log.info({ signal }, 'stopping'));
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export { ConfigError };
