import { readFileSync } from 'node:fs';
import { verifyWebhook, WebhookVerificationError } from '@parley-rtc/protocol/webhooks';
import { ConfigError } from '../config.ts';
import { HELP_OPTION, parseCommand } from './args.ts';

export const WEBHOOK_VERIFY_USAGE = `usage: parley webhook-verify --signature HEADER [--file BODY] [flags]

Checks a webhook request the way a receiver should: the Parley-Signature header against the raw
body and the signing secret, and the signing time against a replay window. Prints the event as
JSON and exits 0 when it is genuine; prints why not and exits 1 otherwise. In code, use
verifyWebhook() from @parley-rtc/protocol/webhooks.

flags:
  --signature HEADER   the Parley-Signature header value, t=<seconds>,v1=<hex> (required)
  --file BODY          the raw body (default: read standard input)
  --secret SECRET      the signing secret (prefer PARLEY_WEBHOOK_SECRET: flags show in ps)
  --tolerance SECONDS  oldest signing time accepted (default 300)
  -h, --help           this help
`;

/** `parley webhook-verify`: verifies one webhook body and signature. */
export async function webhookVerify(args: string[]): Promise<void> {
  const values = parseCommand('webhook-verify', args, {
    signature: { type: 'string' },
    file: { type: 'string' },
    secret: { type: 'string' },
    tolerance: { type: 'string' },
    ...HELP_OPTION,
  });
  if (values.help) {
    process.stdout.write(WEBHOOK_VERIFY_USAGE);
    return;
  }
  const secret = values.secret ?? process.env['PARLEY_WEBHOOK_SECRET'];
  if (!values.signature) throw new ConfigError('webhook-verify needs --signature (parley webhook-verify --help)');
  if (!secret) throw new ConfigError('webhook-verify needs the secret: PARLEY_WEBHOOK_SECRET or --secret');
  const toleranceSec = values.tolerance === undefined ? undefined : Number(values.tolerance);
  if (toleranceSec !== undefined && !(Number.isInteger(toleranceSec) && toleranceSec > 0)) {
    throw new ConfigError('--tolerance is whole seconds, more than 0');
  }
  const body = readFileSync(values.file ?? 0, 'utf8');
  try {
    const event = await verifyWebhook({ body, signature: values.signature, secret, ...(toleranceSec ? { toleranceSec } : {}) });
    process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    process.stderr.write(`parley: webhook-verify: not genuine (${err.reason}): ${err.message}\n`);
    process.exitCode = 1;
  }
}
