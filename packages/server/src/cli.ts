#!/usr/bin/env node
// The `parley` command. Each command lives in ./cli/ and has its own --help.
import { ConfigError } from './config.ts';
import { headless } from './cli/headless.ts';
import { isUsageError } from './cli/args.ts';
import { serve } from './cli/serve.ts';
import { token } from './cli/token.ts';
import { turn } from './cli/turn.ts';
import { webhookVerify } from './cli/webhookVerify.ts';
import { parleyVersion } from './cli/version.ts';

const USAGE = `usage: parley <command> [flags]   (parley <command> --help for its flags)

commands:
  serve       run the server: signaling, room log, SFU, media server and the web app
              (http://127.0.0.1:8080 by default; the default when no command is given)
  token       mint an access token for one participant of one room
  turn        run Debian's coturn with Parley's TURN configuration and secret
  bot         headless participants in a room of a running server
  load-test   publishers and subscribers against a running server, then a report of time to
              first frame, bitrate, loss, jitter and server CPU
  webhook-verify  check a webhook body against its Parley-Signature header

  --version   print the version
  --help      this help

Docs: https://github.com/parley-rtc/parley#readme
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case undefined:
      return serve([]);
    case 'token':
      return token(rest);
    case 'turn':
      return turn(rest);
    case 'webhook-verify':
      return webhookVerify(rest);
    case 'bot':
    case 'load-test':
      return headless(command, rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${parleyVersion()}\n`);
      return;
    default:
      if (command.startsWith('-')) return serve(argv);
      process.stderr.write(`parley: unknown command ${command}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || isUsageError(err)) {
    process.stderr.write(`parley: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`parley: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
