import { BOT_USAGE, runBot } from '@parley-rtc/bots/cli/bot';
import { LOAD_TEST_USAGE, runLoadTestCli } from '@parley-rtc/bots/cli/loadTest';
import type { MintToken } from '@parley-rtc/bots/cli/common';
import { TokenService } from '../auth/TokenService.ts';
import { UsageError, isUsageError } from './args.ts';

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
    if (!apiSecret || apiSecret.length < 16)
      throw new UsageError('--api-key needs its secret (16+ characters) in --api-secret or PARLEY_API_SECRET');
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

const COMMANDS = { bot: [runBot, BOT_USAGE], 'load-test': [runLoadTestCli, LOAD_TEST_USAGE] } as const;

/** Runs `parley bot` or `parley load-test` and exits with its code; bad flags print the usage. */
export async function headless(command: keyof typeof COMMANDS, args: string[]): Promise<void> {
  const [run, usage] = COMMANDS[command];
  let code: number;
  try {
    const { rest, mintToken } = signer(args);
    code = await run(rest, { mintToken, out: process.stdout, err: process.stderr });
  } catch (err) {
    if (!isUsageError(err)) throw err;
    process.stderr.write(`parley ${command}: ${err.message}\n\n${usage}`);
    code = 2;
  }
  // libdatachannel's threads can keep the process alive after every peer closed: end it here.
  process.exit(code);
}
