import { ConfigError, loadConfig } from '../config.ts';
import { COTURN_CONFIG, spawnCoturn } from '../ice/coturn.ts';
import { HELP_OPTION, parseCommand } from './args.ts';

export const TURN_USAGE = `usage: parley turn [--config FILE] [-- turnserver flags...]

Runs Debian's coturn in the foreground with the configuration shipped in this package
(${COTURN_CONFIG}) and Parley's turn.secret (PARLEY_TURN_SECRET, 16+ characters), so the
credentials Parley mints are the ones coturn accepts. Flags after -- go to turnserver as they are.

flags:
  --config FILE        Parley configuration file to read turn.secret from
  -h, --help           this help
`;

/** `parley turn`: runs coturn in the foreground with Parley's configuration and secret. */
export async function turn(args: string[]): Promise<void> {
  const split = args.indexOf('--');
  const passthrough = split >= 0 ? args.slice(split + 1) : [];
  const values = parseCommand('turn', split >= 0 ? args.slice(0, split) : args, { config: { type: 'string' }, ...HELP_OPTION });
  if (values.help) {
    process.stdout.write(TURN_USAGE);
    return;
  }
  const config = loadConfig(values.config === undefined ? {} : { config: values.config });
  if (!config.turn.secret) throw new ConfigError('turn.secret is not set: export PARLEY_TURN_SECRET (16+ characters)');
  const child = spawnCoturn({ secret: config.turn.secret, args: passthrough, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.exitCode = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
}
