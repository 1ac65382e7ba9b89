import { createHmac } from 'node:crypto';

/**
 * Signs Parley's own HS256 access tokens (a compact JWS, RFC 7515). Signing stays synchronous
 * because `TokenService.mint` is called from synchronous code (the bots' token callbacks);
 * every token is verified by jose (TokenVerifier.ts), and a test checks jose accepts these.
 */
export function signHs256(claims: Record<string, unknown>, secret: string, kid?: string): string {
  const header = { alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) };
  const signingInput = `${encode(header)}.${encode(claims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
