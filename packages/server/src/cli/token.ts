import { ConfigError, loadConfig } from '../config.ts';
import { TokenService } from '../auth/TokenService.ts';
import { ALL_GRANTS, type Grants } from '../auth/grants.ts';
import { HELP_OPTION, parseCommand } from './args.ts';

export const TOKEN_USAGE = `usage: parley token --room ROOM --identity ID [flags]

Prints a signed access token for one participant of one room. Signs with auth.secret
(PARLEY_AUTH_SECRET or --auth-secret), or with the secret of the API key named by --api-key.

flags:
  --room ROOM          the room the token admits to (required)
  --identity ID        the participant's stable identity, e.g. your user id (required)
  --name NAME          display name
  --grants LIST        comma-separated subset of ${Object.keys(ALL_GRANTS).join(',')}
                       (default: the server's defaults)
  --ttl SECONDS        lifetime, at least 60 (default auth.tokenTtlSec)
  --api-key KEY        sign with this API key's secret (from the config file's auth.apiKeys)
  --config FILE        configuration file to read auth settings from
  --auth-secret SECRET the HS256 secret (prefer PARLEY_AUTH_SECRET: flags show in ps)
  -h, --help           this help
`;

/** `parley token`: prints a signed access token to stdout. */
export function token(args: string[]): void {
  const values = parseCommand('token', args, {
    room: { type: 'string' },
    identity: { type: 'string' },
    name: { type: 'string' },
    grants: { type: 'string' },
    ttl: { type: 'string' },
    'api-key': { type: 'string' },
    config: { type: 'string' },
    'auth-secret': { type: 'string' },
    ...HELP_OPTION,
  });
  if (values.help) {
    process.stdout.write(TOKEN_USAGE);
    return;
  }
  const { room, identity, name } = values;
  if (!room || !identity) throw new ConfigError('token needs --room and --identity (parley token --help)');
  const flags: Record<string, string> = {};
  if (values.config !== undefined) flags['config'] = values.config;
  if (values['auth-secret'] !== undefined) flags['auth-secret'] = values['auth-secret'];
  const config = loadConfig(flags);
  let grants: Partial<Grants> | undefined;
  if (values.grants !== undefined) {
    const names = values.grants
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const unknown = names.filter((g) => !(g in ALL_GRANTS));
    if (unknown.length) throw new ConfigError(`unknown grants: ${unknown.join(', ')} (known: ${Object.keys(ALL_GRANTS).join(', ')})`);
    grants = Object.fromEntries(Object.keys(ALL_GRANTS).map((g) => [g, names.includes(g)]));
  }
  const ttlSec = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlSec !== undefined && !(Number.isInteger(ttlSec) && ttlSec >= 60)) throw new ConfigError('--ttl is whole seconds, at least 60');
  const tokens = new TokenService(config.auth);
  if (tokens.openMode) throw new ConfigError('no auth.secret configured: set PARLEY_AUTH_SECRET or --auth-secret');
  process.stdout.write(`${tokens.mint({ identity, room, name, grants, ttlSec }, values['api-key'])}\n`);
}
