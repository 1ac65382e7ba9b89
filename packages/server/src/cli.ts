#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.ts';
import { createApp } from './app.ts';
import { TokenService } from './auth/TokenService.ts';
import { ALL_GRANTS, type Grants } from './auth/grants.ts';
import { spawnCoturn } from './ice/coturn.ts';
import { BOT_USAGE, runBot } from '@parley-rtc/bots/cli/bot';
import { LOAD_TEST_USAGE, runLoadTestCli } from '@parley-rtc/bots/cli/loadTest';
import { UsageError, type MintToken } from '@parley-rtc/bots/cli/common';

const USAGE = `usage: parley <command> [--flag value ...]

commands:
  serve     run the server (default on http://127.0.0.1:8080)
  turn      start Debian's coturn with deploy/coturn/turnserver.conf and turn.secret
            (PARLEY_TURN_SECRET); extra flags after -- go to turnserver
  bot       headless participants in a room of a running server: parley bot --room ROOM
            [--count N] [--url URL] (parley bot --help)
  load-test publishers and subscribers against a running server, then a table of time to first
            frame, bitrate, loss, jitter and server CPU (parley load-test --help)
  token     mint an access token: parley token --room ROOM --identity ID [--name NAME]
            [--grants chat,publish,subscribe,upload,record,admin] [--ttl SECONDS] [--api-key KEY]
            (signs with auth.secret / PARLEY_AUTH_SECRET, or the named API key's secret)

flags for serve (each also settable in a JSON --config file or PARLEY_* variables):
  --config FILE        JSON configuration file
  --host HOST          interface to listen on (127.0.0.1; use 0.0.0.0 for the LAN)
  --port PORT          port (8080)
  --data-dir DIR       where the SQLite room log and files live (./data)
  --storage DRIVER     sqlite | postgres
  --postgres-url URL   PostgreSQL connection string
  --log-level LEVEL    fatal | error | warn | info | debug | trace | silent
  --web-dir DIR        the built web app
`;

/** Parses `--name value` and `--name=value` pairs; anything else is an error. */
export function parseFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`flag ${arg} needs a value`);
      flags[arg.slice(2)] = value;
      i++;
    }
  }
  return flags;
}

async function serve(args: string[]): Promise<void> {
  const config = loadConfig(parseFlags(args));
  const app = await createApp(config);
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    app.log.info({ signal }, 'stopping');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** `parley token`: prints a signed access token to stdout. */
function token(args: string[]): void {
  const flags = parseFlags(args);
  const pick = (name: string) => {
    const v = flags[name];
    delete flags[name];
    return v;
  };
  const room = pick('room');
  const identity = pick('identity');
  const name = pick('name');
  const grantList = pick('grants');
  const ttl = pick('ttl');
  const apiKey = pick('api-key');
  if (!room || !identity) throw new ConfigError('token needs --room and --identity');
  const config = loadConfig(flags);
  let grants: Partial<Grants> | undefined;
  if (grantList !== undefined) {
    const names = grantList.split(',').map((g) => g.trim()).filter(Boolean);
    const unknown = names.filter((g) => !(g in ALL_GRANTS));
    if (unknown.length) throw new ConfigError(`unknown grants: ${unknown.join(', ')} (known: ${Object.keys(ALL_GRANTS).join(', ')})`);
    grants = Object.fromEntries(Object.keys(ALL_GRANTS).map((g) => [g, names.includes(g)]));
  }
  const ttlSec = ttl === undefined ? undefined : Number(ttl);
  if (ttlSec !== undefined && !(Number.isInteger(ttlSec) && ttlSec >= 60)) throw new ConfigError('--ttl is whole seconds, at least 60');
  const tokens = new TokenService(config.auth);
  if (tokens.openMode) throw new ConfigError('no auth.secret configured: set PARLEY_AUTH_SECRET or --auth-secret');
  process.stdout.write(`${tokens.mint({ identity, room, name, grants, ttlSec }, apiKey)}\n`);
}

/** `parley turn`: runs coturn in the foreground with Parley's configuration and secret. */
async function turn(args: string[]): Promise<void> {
  const split = args.indexOf('--');
  const passthrough = split >= 0 ? args.slice(split + 1) : [];
  const config = loadConfig(parseFlags(split >= 0 ? args.slice(0, split) : args));
  if (!config.turn.secret) throw new ConfigError('turn.secret is not set: export PARLEY_TURN_SECRET (16+ characters)');
  const child = spawnCoturn({ secret: config.turn.secret, args: passthrough, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  process.exitCode = code;
}

/**
 * How `parley bot` / `load-test` sign a token per participant: with an API key pair (--api-key
 * KEY and --api-secret or PARLEY_API_SECRET), or with PARLEY_AUTH_SECRET; otherwise none (open
 * mode, or --token). The signing flags are taken out before the bots' own parser sees the rest.
 */
function signer(args: string[]): { rest: string[]; mintToken: MintToken | undefined } {
  const rest: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(api-key|api-secret)(?:=(.*))?$/.exec(args[i]!);
    if (!m) {
      rest.push(args[i]!);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    flags[m[1]!] = value;
  }
  const apiKey = flags['api-key'];
  const apiSecret = flags['api-secret'] ?? process.env['PARLEY_API_SECRET'];
  const ttlSec = 6 * 3600;
  if (apiKey !== undefined) {
    if (!apiSecret || apiSecret.length < 16) throw new UsageError('--api-key needs its secret (16+ characters) in --api-secret or PARLEY_API_SECRET');
    const tokens = new TokenService({ apiKeys: { [apiKey]: apiSecret }, tokenTtlSec: ttlSec });
    return { rest, mintToken: (identity, room, name) => tokens.mint({ identity, room, name }, apiKey) };
  }
  const secret = process.env['PARLEY_AUTH_SECRET'];
  if (secret) {
    const tokens = new TokenService({ secret, apiKeys: {}, tokenTtlSec: ttlSec });
    return { rest, mintToken: (identity, room, name) => tokens.mint({ identity, room, name }) };
  }
  return { rest, mintToken: undefined };
}

/** Runs `parley bot` or `parley load-test` and sets the exit code; bad flags print the usage. */
async function headless(run: typeof runBot, usage: string, args: string[]): Promise<void> {
  let code: number;
  try {
    const { rest, mintToken } = signer(args);
    code = await run(rest, { mintToken, out: process.stdout, err: process.stderr });
  } catch (err) {
    const bad = err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    if (!bad) throw err;
    process.stderr.write(`parley: ${err.message}\n\n${usage}`);
    code = 2;
  }
  // libdatachannel's threads can keep the process alive after every peer closed: end it here.
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
    case undefined:
      return serve(rest);
    case 'token':
      return token(rest);
    case 'turn':
      return turn(rest);
    case 'bot':
      return headless(runBot, BOT_USAGE, rest);
    case 'load-test':
      return headless(runLoadTestCli, LOAD_TEST_USAGE, rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`parley: unknown command ${command}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`parley: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`parley: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
