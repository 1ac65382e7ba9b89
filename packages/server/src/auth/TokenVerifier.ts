import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { ParleyError } from '@parley-rtc/protocol';

/** Algorithms accepted from an identity provider's key set (never `none`, never HS* there). */
export const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;

export interface TokenVerifierConfig {
  /** HS256 secret for tokens without a `kid`. */
  secret?: string | undefined;
  /** HS256 secrets by key id (`kid` header). */
  apiKeys: Record<string, string>;
  /** JSON Web Key Set of an identity provider; RS256/ES256 tokens are checked against it. */
  jwksUrl?: string | undefined;
  /** Required `iss` of identity-provider tokens. */
  issuer?: string | undefined;
  /** Required `aud` of identity-provider tokens. */
  audience?: string | undefined;
}

/** Allowed clock skew between Parley and whoever signed a token, seconds. */
const CLOCK_TOLERANCE_SEC = 30;

/**
 * Verifies access tokens with jose: HS256 with the configured secret (or the API key named in
 * `kid`), or RS256/ES256 against a JWKS URL. Every token needs `exp`. Failures become
 * ParleyErrors: TOKEN_EXPIRED for an expired token, TOKEN_INVALID for everything else a client
 * can fix, INTERNAL when the key set cannot be fetched.
 */
export class TokenVerifier {
  readonly #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(private readonly config: TokenVerifierConfig) {
    this.#jwks = config.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000 });
  }

  /** Returns the verified claims (still untrusted in shape: the caller parses them with a schema). */
  async verify(token: string): Promise<JWTPayload> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new ParleyError('TOKEN_INVALID', 'the token is not a compact JWS');
    }
    const base: JWTVerifyOptions = { requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_SEC };
    try {
      if (header.alg !== 'HS256' && this.#jwks) {
        const { issuer, audience } = this.config;
        const options = { ...base, algorithms: [...JWKS_ALGORITHMS], ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
        return (await jwtVerify(token, this.#jwks, options)).payload;
      }
      const kid = header.kid;
      const secret =
        kid === undefined ? this.config.secret : Object.hasOwn(this.config.apiKeys, kid) ? this.config.apiKeys[kid] : undefined;
      if (!secret) throw new ParleyError('TOKEN_INVALID', 'the token was signed with an unknown key');
      return (await jwtVerify(token, new TextEncoder().encode(secret), { ...base, algorithms: ['HS256'] })).payload;
    } catch (err) {
      throw toParleyError(err);
    }
  }
}

function toParleyError(err: unknown): ParleyError {
  if (err instanceof ParleyError) return err;
  if (err instanceof errors.JWTExpired) return new ParleyError('TOKEN_EXPIRED', `the token expired (${err.reason})`);
  if (err instanceof errors.JOSEAlgNotAllowed) return new ParleyError('TOKEN_INVALID', 'the token algorithm is not accepted');
  if (err instanceof errors.JWSSignatureVerificationFailed) return new ParleyError('TOKEN_INVALID', 'the token signature does not match');
  if (err instanceof errors.JWKSNoMatchingKey) return new ParleyError('TOKEN_INVALID', 'the token was signed with an unknown key');
  if (err instanceof errors.JWTClaimValidationFailed)
    return new ParleyError('TOKEN_INVALID', `the token claims are invalid: ${err.claim} ${err.reason}`);
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported) {
    return new ParleyError('TOKEN_INVALID', 'the token is malformed or uses an unsupported algorithm');
  }
  // The key set could not be fetched (timeout, network, bad JWKS): not the client's fault.
  return new ParleyError('INTERNAL', 'the identity provider key set is unavailable', undefined, err);
}
