import * as z from 'zod';

/**
 * Webhooks: the server POSTs one JSON event per request to each configured URL. The body is signed
 * with an API secret so a receiver can tell Parley's events from anyone else's:
 *
 *   Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Signing and verifying use Web Crypto, so the same functions run in Node (>= 20), Deno, Bun,
 * workers and browsers. The timestamp is inside the signed bytes: a replayed request older than
 * the tolerance is refused even though its signature is genuine.
 */

export const WEBHOOK_EVENTS = [
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
  'recording_finished',
  'chat_message',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Events sent when the configuration does not list any: everything except chat (opt-in). */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventName[] = WEBHOOK_EVENTS.filter((e) => e !== 'chat_message');

export const WEBHOOK_SIGNATURE_HEADER = 'parley-signature';
/** Names the API key whose secret signed the body (absent when the server's auth.secret signed it). */
export const WEBHOOK_KEY_HEADER = 'parley-key';
/** Default replay window for `verifyWebhook`, in seconds. */
export const WEBHOOK_TOLERANCE_SEC = 300;

const participantSchema = z.object({ id: z.string(), name: z.string(), identity: z.string().optional() });

export const webhookEventSchema = z.object({
  /** Unique per event; a receiver that sees an id twice (a retry after a lost response) may skip it. */
  id: z.string(),
  event: z.enum(WEBHOOK_EVENTS),
  /** Milliseconds since the epoch, when the server produced the event. */
  createdAt: z.number(),
  /** The room; for a recording of a media-server stream, `stream:<name>` (no room name has a colon). */
  room: z.string(),
  /** Position of this event in the room's webhook stream on this node (1, 2, …): delivery is in this order. */
  seq: z.number().int().positive(),
  participant: participantSchema.optional(),
  track: z.object({ id: z.string(), kind: z.enum(['audio', 'video']), source: z.string() }).optional(),
  chat: z.object({ seq: z.number(), from: z.object({ id: z.string(), name: z.string() }), text: z.string() }).optional(),
  recording: z
    .object({ id: z.string(), bytes: z.number(), durationMs: z.number(), state: z.string(), error: z.string().optional() })
    .optional(),
});
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** Why `verifyWebhook` refused a request. */
export class WebhookVerificationError extends Error {
  readonly reason: 'missing' | 'malformed' | 'expired' | 'mismatch' | 'invalid-body';
  constructor(reason: WebhookVerificationError['reason'], message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

const encoder = new TextEncoder();

async function hmacKey(secret: string) {
  return globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return undefined;
  const out = new Uint8Array(new ArrayBuffer(hex.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The `Parley-Signature` header value for a body; `nowSec` defaults to the current time. */
export async function signWebhook(body: string, secret: string, nowSec = Math.floor(Date.now() / 1000)): Promise<string> {
  const mac = await globalThis.crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(`${nowSec}.${body}`));
  return `t=${nowSec},v1=${toHex(mac)}`;
}

export interface VerifyWebhookOptions {
  /** The raw request body exactly as received (verify before parsing). */
  body: string;
  /** The `Parley-Signature` header. */
  signature: string | null | undefined;
  secret: string;
  /** Oldest accepted signing time, in seconds before now (default 300). */
  toleranceSec?: number;
  nowSec?: number;
}

/**
 * Checks a webhook request's signature and age, then parses its body. Throws
 * `WebhookVerificationError` on any failure; the HMAC comparison is constant-time (Web Crypto's
 * `verify`).
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<WebhookEvent> {
  const { body, signature, secret } = options;
  if (!signature) throw new WebhookVerificationError('missing', 'no Parley-Signature header');
  const parts = new Map<string, string>();
  for (const part of signature.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const t = Number(parts.get('t'));
  const mac = fromHex(parts.get('v1') ?? '');
  if (!Number.isInteger(t) || !mac || mac.length !== 32) {
    throw new WebhookVerificationError('malformed', 'Parley-Signature must look like t=<seconds>,v1=<64 hex digits>');
  }
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSec ?? WEBHOOK_TOLERANCE_SEC;
  if (Math.abs(now - t) > tolerance) {
    throw new WebhookVerificationError('expired', `signed ${now - t} s ago; at most ${tolerance} s are accepted`);
  }
  const ok = await globalThis.crypto.subtle.verify('HMAC', await hmacKey(secret), mac, encoder.encode(`${t}.${body}`));
  if (!ok) throw new WebhookVerificationError('mismatch', 'the signature does not match the body and secret');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new WebhookVerificationError('invalid-body', 'the body is not JSON');
  }
  const parsed = webhookEventSchema.safeParse(json);
  if (!parsed.success) throw new WebhookVerificationError('invalid-body', `the body is not a Parley event: ${parsed.error.message}`);
  return parsed.data;
}
