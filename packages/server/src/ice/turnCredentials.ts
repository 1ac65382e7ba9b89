import { createHmac } from 'node:crypto';

export interface TurnCredential {
  username: string;
  credential: string;
  /** Seconds since epoch when coturn stops accepting it. */
  expiresAt: number;
}

/**
 * Short-lived TURN credentials in coturn's `use-auth-secret` (TURN REST API) scheme:
 * username = `<expiry unix seconds>:<peer id>`, password = base64(HMAC-SHA1(secret, username)).
 */
export function mintTurnCredential(secret: string, peerId: string, ttlSec: number, nowSec = Math.floor(Date.now() / 1000)): TurnCredential {
  const expiresAt = nowSec + ttlSec;
  const username = `${expiresAt}:${peerId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt };
}
