import type { IceServer } from '@parley-rtc/protocol';
import { mintTurnCredential } from './turnCredentials.ts';

export interface IceConfig {
  /** STUN URLs, e.g. `stun:turn.example.com:3478`. */
  stunUrls: string[];
  turn: {
    /** TURN URLs: `turn:host:3478?transport=udp`, `turn:host:3478?transport=tcp`, `turns:host:5349?transport=tcp`. */
    urls: string[];
    /** coturn's `static-auth-secret`. TURN is offered only when both urls and secret are set. */
    secret?: string | undefined;
    /** Lifetime of minted credentials, seconds. */
    ttlSec: number;
  };
  /** Extra servers passed through as configured (no credentials allowed on turn: URLs). */
  iceServers: IceServer[];
}

/** A credential lifetime of at most `ttlSec` that ends no later than `notAfterSec` (if given). */
export function cappedTtl(ttlSec: number, notAfterSec: number | undefined, nowSec: number): number {
  return notAfterSec === undefined ? ttlSec : Math.min(ttlSec, Math.floor(notAfterSec) - nowSec);
}

/** Builds the ICE server list for one participant, minting its TURN credentials. */
export class IceServerProvider {
  constructor(private readonly config: IceConfig) {}

  get hasTurn(): boolean {
    return this.config.turn.urls.length > 0 && !!this.config.turn.secret;
  }

  /** The list for `peerId`, with TURN credentials valid for the configured TTL. */
  forPeer(peerId: string): IceServer[] {
    return this.forMember(peerId, undefined).iceServers;
  }

  /**
   * The list for a member whose access token expires at `notAfterSec` (seconds since epoch;
   * undefined in open mode): its TURN credentials expire after the configured TTL or at
   * `notAfterSec`, whichever comes first, and are left out once the token has expired.
   * `expiresAt` says when they expire (undefined without TURN credentials).
   */
  forMember(
    peerId: string,
    notAfterSec: number | undefined,
    nowSec = Math.floor(Date.now() / 1000),
  ): { iceServers: IceServer[]; expiresAt: number | undefined } {
    const servers: IceServer[] = [...this.config.iceServers];
    if (this.config.stunUrls.length) servers.push({ urls: [...this.config.stunUrls] });
    const { turn } = this.config;
    const ttlSec = cappedTtl(turn.ttlSec, notAfterSec, nowSec);
    if (!turn.urls.length || !turn.secret || ttlSec <= 0) return { iceServers: servers, expiresAt: undefined };
    const { username, credential, expiresAt } = mintTurnCredential(turn.secret, peerId, ttlSec, nowSec);
    servers.push({ urls: [...turn.urls], username, credential });
    return { iceServers: servers, expiresAt };
  }

  /** RFC 8840-style `Link` header values for WHIP/WHEP responses (TURN capped at `notAfterSec`). */
  linkHeaders(peerId: string, notAfterSec?: number): string[] {
    const out: string[] = [];
    for (const server of this.forMember(peerId, notAfterSec).iceServers) {
      const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
      for (const url of urls) {
        const params = ['rel="ice-server"'];
        if (server.username !== undefined) params.push(`username="${server.username}"`);
        if (server.credential !== undefined) params.push(`credential="${server.credential}"`, 'credential-type="password"');
        out.push(`<${url}>; ${params.join('; ')}`);
      }
    }
    return out;
  }
}
