import { DEFAULT_WEBHOOK_EVENTS } from '@parley-rtc/protocol/webhooks';
import { ConfigError, type ParleyConfig } from '../config.ts';
import { webhookSigner } from './config.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { Signaling } from '../signaling/Signaling.ts';
import type { Logger } from '../util/logger.ts';
import { WebhookSender } from './WebhookSender.ts';
import type { ServerEvents } from '../serverEvents.ts';

/**
 * Starts webhook delivery when `webhooks.urls` is set, and turns room membership and chat into
 * events. Returns undefined when webhooks are off. (parseConfig has already refused URLs without a
 * secret to sign with: unsigned events would let anyone forge them.)
 */
export function startRoomWebhooks(deps: {
  config: ParleyConfig;
  signaling: Signaling;
  events: ServerEvents;
  log: Logger;
  metrics: Metrics;
}): WebhookSender | undefined {
  const { config, signaling } = deps;
  if (config.webhooks.urls.length === 0) return undefined;
  const signer = webhookSigner(config.webhooks, config.auth);
  if (signer === undefined || typeof signer === 'string') throw new ConfigError(signer ?? 'webhooks: no signing secret');
  const sender = new WebhookSender({
    urls: config.webhooks.urls,
    events: new Set(config.webhooks.events ?? DEFAULT_WEBHOOK_EVENTS),
    secret: signer.secret,
    ...(signer.keyId !== undefined ? { keyId: signer.keyId } : {}),
    maxAttempts: config.webhooks.maxAttempts,
    retryBaseMs: config.webhooks.retryBaseMs,
    timeoutMs: config.webhooks.timeoutMs,
    maxQueue: config.webhooks.maxQueue,
    maxPending: config.webhooks.maxPending,
    maxConcurrent: config.webhooks.maxConcurrent,
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
  deps.events.on('trackPublished', (room, participant, track) => sender.send({ event: 'track_published', room, participant, track }));
  deps.events.on('trackUnpublished', (room, participant, track) => sender.send({ event: 'track_unpublished', room, participant, track }));
  deps.events.on('recordingFinished', (stream, r) => {
    sender.send({
      event: 'recording_finished',
      room: `stream:${stream}`,
      recording: { id: r.id, bytes: r.bytes, durationMs: r.durationMs, state: r.state },
    });
  });
  deps.events.on('roomRecordingFinished', (room, recording) => sender.send({ event: 'recording_finished', room, recording }));
  return sender;
}
