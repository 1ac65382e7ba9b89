import { DEFAULT_WEBHOOK_EVENTS } from '@parley-rtc/protocol/webhooks';
import { ConfigError, type ParleyConfig } from '../config.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { Signaling } from '../signaling/Signaling.ts';
import type { Logger } from '../util/logger.ts';
import { WebhookSender } from './WebhookSender.ts';

/** The secret that signs webhook bodies, and the API key it belongs to (docs/server-api.md#webhooks). */
export function webhookSigner(config: ParleyConfig): { secret: string; keyId?: string } | undefined {
  const { webhooks, auth } = config;
  if (webhooks.apiKey !== undefined) {
    const secret = auth.apiKeys[webhooks.apiKey];
    if (!secret) throw new ConfigError(`webhooks.apiKey: no API key ${webhooks.apiKey} in auth.apiKeys`);
    return { secret, keyId: webhooks.apiKey };
  }
  const first = Object.entries(auth.apiKeys)[0];
  if (first) return { secret: first[1], keyId: first[0] };
  return auth.secret ? { secret: auth.secret } : undefined;
}

/**
 * Starts webhook delivery when `webhooks.urls` is set, and turns room membership and chat into
 * events. Returns undefined when webhooks are off. Throws ConfigError when there are URLs but no
 * secret to sign with (unsigned events would let anyone forge them).
 */
export function startRoomWebhooks(deps: {
  config: ParleyConfig;
  signaling: Signaling;
  log: Logger;
  metrics: Metrics;
}): WebhookSender | undefined {
  const { config, signaling } = deps;
  if (config.webhooks.urls.length === 0) return undefined;
  const signer = webhookSigner(config);
  if (!signer) {
    throw new ConfigError('webhooks.urls is set but there is no secret to sign events with: set auth.secret or auth.apiKeys');
  }
  const sender = new WebhookSender({
    urls: config.webhooks.urls,
    events: new Set(config.webhooks.events ?? DEFAULT_WEBHOOK_EVENTS),
    secret: signer.secret,
    ...(signer.keyId !== undefined ? { keyId: signer.keyId } : {}),
    maxAttempts: config.webhooks.maxAttempts,
    retryBaseMs: config.webhooks.retryBaseMs,
    timeoutMs: config.webhooks.timeoutMs,
    maxQueue: config.webhooks.maxQueue,
    log: deps.log.child({ module: 'webhooks' }),
    metrics: deps.metrics,
  });
  signaling.onMembership({
    joined(_id, room, members, member) {
      if (members === 1) sender.send({ event: 'room_started', room });
      sender.send({ event: 'participant_joined', room, participant: member });
    },
    left(_id, room, members, member) {
      sender.send({ event: 'participant_left', room, participant: member });
      if (members === 0) sender.send({ event: 'room_finished', room });
    },
  });
  signaling.onEntry((room, entry) => {
    if (entry.kind === 'chat' && sender.wants('chat_message')) {
      sender.send({ event: 'chat_message', room, chat: { seq: entry.seq, from: entry.from, text: entry.text } });
    }
  });
  return sender;
}
