import * as z from 'zod';
import { iceServerSchema } from './room.ts';

/** What kind of path an ICE server URL offers. */
export type IceUrlKind = 'stun' | 'turn-udp' | 'turn-tcp' | 'turns';

/**
 * Classifies an ICE URL (RFC 7064/7065): `stun:`/`stuns:` → stun, `turns:` → turns (TLS over TCP),
 * `turn:…?transport=tcp` → turn-tcp, other `turn:` → turn-udp (UDP is the default transport).
 * Returns undefined for anything else.
 */
export function classifyIceUrl(url: string): IceUrlKind | undefined {
  const match = /^(stuns?|turns?):[^?]+(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme.startsWith('stun')) return 'stun';
  if (scheme === 'turns') return 'turns';
  return (match[2] ?? '').toLowerCase() === 'tcp' ? 'turn-tcp' : 'turn-udp';
}

/** `GET /api/diagnostics`: what a connectivity check needs to know about the server. */
export const diagnosticsResponseSchema = z.object({
  /** The server's clock, ms since epoch (TURN credentials carry an expiry: a skewed clock breaks them). */
  serverTime: z.number(),
  /** The ICE servers this caller would get, with freshly minted TURN credentials. */
  iceServers: z.array(iceServerSchema),
  /** The URLs among `iceServers`, by kind. */
  configured: z.object({
    stun: z.array(z.string()),
    turnUdp: z.array(z.string()),
    turnTcp: z.array(z.string()),
    turns: z.array(z.string()),
  }),
  turn: z.object({
    /** TURN is offered to clients (URLs and secret both set). */
    enabled: z.boolean(),
    /** turn.urls is set but turn.secret is not, so no TURN is offered: a misconfiguration. */
    urlsWithoutSecret: z.boolean(),
    /** Lifetime of minted TURN credentials, seconds. */
    ttlSec: z.number(),
    /** When the credentials in this response expire, seconds since epoch (undefined without TURN). */
    expiresAt: z.number().optional(),
  }),
  server: z.object({
    protocolVersion: z.string(),
    tls: z.boolean(),
    /** No auth secret: anyone may join. */
    openMode: z.boolean(),
    /** media.bindAddress: server-side peers (WHIP/WHEP) only offer host candidates on this address. */
    mediaBindAddress: z.string().optional(),
  }),
});
export type DiagnosticsResponse = z.infer<typeof diagnosticsResponseSchema>;
