import { createHmac, timingSafeEqual } from 'node:crypto';
import { ParleyError } from '@parley-rtc/protocol';

/** Minimal HS256 JSON Web Tokens (RFC 7519), enough for Parley's access tokens. */

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

function sign(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signJwt(claims: Record<string, unknown>, secret: string, kid?: string): string {
  const header = kid === undefined ? HEADER : base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }));
  const body = base64url(JSON.stringify(claims));
  return `${header}.${body}.${sign(`${header}.${body}`, secret).toString('base64url')}`;
}

/** Reads the header without verifying, to find the key id. Throws TOKEN_INVALID when malformed. */
export function jwtHeader(token: string): { alg: unknown; kid: unknown } {
  const [header] = token.split('.');
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    return { alg: 'alg' in parsed ? parsed.alg : undefined, kid: 'kid' in parsed ? parsed.kid : undefined };
  } catch {
    throw new ParleyError('TOKEN_INVALID', 'the token header is not valid base64url JSON');
  }
}

/**
 * Verifies signature and time claims; returns the claims object (still untrusted in shape: the
 * caller parses it with a schema). `nowSec` is injectable for tests.
 */
export function verifyJwt(token: string, secret: string, nowSec = Math.floor(Date.now() / 1000), leewaySec = 30): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new ParleyError('TOKEN_INVALID', 'a token has three dot-separated parts');
  const [header, body, signature] = parts as [string, string, string];
  if (jwtHeader(token).alg !== 'HS256') throw new ParleyError('TOKEN_INVALID', 'only HS256 tokens are accepted');
  const expected = sign(`${header}.${body}`, secret);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ParleyError('TOKEN_INVALID', 'the token signature does not match');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new ParleyError('TOKEN_INVALID', 'the token body is not valid JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new ParleyError('TOKEN_INVALID', 'the token body is not an object');
  }
  const record: Record<string, unknown> = Object.fromEntries(Object.entries(claims));
  const exp = record['exp'];
  const nbf = record['nbf'];
  if (typeof exp !== 'number') throw new ParleyError('TOKEN_INVALID', 'the token has no exp claim');
  if (nowSec > exp + leewaySec) throw new ParleyError('TOKEN_EXPIRED', `the token expired at ${new Date(exp * 1000).toISOString()}`);
  if (typeof nbf === 'number' && nowSec + leewaySec < nbf) throw new ParleyError('TOKEN_INVALID', 'the token is not valid yet');
  return record;
}
