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
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
