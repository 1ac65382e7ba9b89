import { z } from 'zod';
import { WEBHOOK_EVENTS } from '@parley-rtc/protocol/webhooks';

/** Webhooks (docs/server-api.md#webhooks): where to POST room events and how hard to try. */
export const webhookConfigSchema = z.strictObject({
  /** Receivers; each gets every selected event. Empty: webhooks off. */
  urls: z.array(z.url({ protocol: /^https?$/ })).default([]),
  /** Events to send; default everything except chat_message (which is opt-in). */
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).optional(),
  /**
   * The API key (from auth.apiKeys) whose secret signs the bodies. Default: the first API key,
   * else auth.secret.
   */
  apiKey: z.string().optional(),
  /** Attempts per event and receiver before it is given up. */
  maxAttempts: z.number().int().min(1).max(20).default(6),
  /** First retry delay in ms; doubles per attempt (at most 30 s). */
  retryBaseMs: z.number().int().min(1).default(1000),
  /** Per-request timeout in ms. */
  timeoutMs: z.number().int().min(100).default(5000),
  /** Events a room may have waiting per receiver before new ones are dropped. */
  maxQueue: z.number().int().min(1).default(1000),
  /** Events waiting across all rooms and receivers before new ones are dropped. */
  maxPending: z.number().int().min(1).default(10_000),
  /** Deliveries in flight at once (each room's events still go one after another). */
  maxConcurrent: z.number().int().min(1).max(1000).default(16),
  /**
   * A secret only for signing webhooks (at least 16 characters), so receivers need no API secret
   * that can also mint tokens. Default: the API key's secret as below.
   */
  secret: z.string().min(16).optional(),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/**
 * The secret that signs webhook bodies and the API key it belongs to: `webhooks.secret`, else `webhooks.apiKey`'s, else
 * the first API key's, else auth.secret. A string is a configuration error to report.
 */
export function webhookSigner(
  webhooks: WebhookConfig,
  auth: { secret?: string | undefined; apiKeys: Record<string, string> },
): { secret: string; keyId?: string } | undefined | string {
  if (webhooks.secret !== undefined) return { secret: webhooks.secret };
  if (webhooks.apiKey !== undefined) {
    const secret = Object.hasOwn(auth.apiKeys, webhooks.apiKey) ? auth.apiKeys[webhooks.apiKey] : undefined;
    return secret ? { secret, keyId: webhooks.apiKey } : `webhooks.apiKey: no API key ${webhooks.apiKey} in auth.apiKeys`;
  }
  const first = Object.entries(auth.apiKeys)[0];
  if (first) return { secret: first[1], keyId: first[0] };
  if (auth.secret) return { secret: auth.secret };
  return webhooks.urls.length > 0
    ? 'webhooks.urls is set but there is no secret to sign events with: set auth.secret or auth.apiKeys'
    : undefined;
}
