import { z } from 'zod';
import { ParleyError, roomNameSchema } from '@parley-rtc/protocol';
import { ALL_GRANTS, grantsSchema, type Grants } from './grants.ts';
import { signHs256 } from './hs256.ts';
import { TokenVerifier } from './TokenVerifier.ts';

/** The claims of a Parley access token. */
export const tokenClaimsSchema = z.object({
  /** Identity of the holder (user id). */
  sub: z.string().min(1).max(128),
  /** Display name suggestion. */
  name: z.string().max(64).optional(),
  /** The room this token is for, or '*' for any room. */
  room: z.union([roomNameSchema, z.literal('*')]),
  grants: grantsSchema.default(grantsSchema.parse({})),
  exp: z.number(),
  iat: z.number().optional(),
  nbf: z.number().optional(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

export interface AuthConfig {
  /** HS256 secret. When unset (and no apiKeys), the server runs in open mode. */
  secret?: string | undefined;
  /** API key → secret pairs; a token names its key in the JWT `kid` header. */
  apiKeys: Record<string, string>;
  /** Default lifetime of minted tokens, seconds. */
  tokenTtlSec: number;
  /** An identity provider's JSON Web Key Set: RS256/ES256 tokens are verified against it. */
  jwksUrl?: string | undefined;
  /** Required `iss` claim of identity-provider (JWKS) tokens. */
  issuer?: string | undefined;
  /** Required `aud` claim of identity-provider (JWKS) tokens. */
  audience?: string | undefined;
}

export interface Principal {
  identity: string;
  name: string | undefined;
  room: string;
  grants: Grants;
  /** Seconds since epoch; undefined in open mode. */
  expiresAt: number | undefined;
}

export interface MintRequest {
  identity: string;
  room: string;
  name?: string | undefined;
  grants?: Partial<Grants> | undefined;
  ttlSec?: number | undefined;
}

/** Mints and verifies access tokens; in open mode every request gets every grant. */
export class TokenService {
  readonly #verifier: TokenVerifier;

  constructor(private readonly config: AuthConfig) {
    this.#verifier = new TokenVerifier(config);
  }

  /** No secret, API key or JWKS URL is configured: every request gets every grant. */
  get openMode(): boolean {
    return !this.config.secret && Object.keys(this.config.apiKeys).length === 0 && !this.config.jwksUrl;
  }

  /** Signs with `apiKey`'s secret, else auth.secret, else (only API keys configured) the first API key's. */
  mint(req: MintRequest, apiKey?: string): string {
    if (apiKey === undefined && !this.config.secret) apiKey = Object.keys(this.config.apiKeys)[0];
    const secret =
      apiKey === undefined ? this.config.secret : Object.hasOwn(this.config.apiKeys, apiKey) ? this.config.apiKeys[apiKey] : undefined;
    if (!secret) throw new ParleyError('UNSUPPORTED', 'no signing secret is configured (open mode)');
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = tokenClaimsSchema.parse({
      sub: req.identity,
      ...(req.name !== undefined ? { name: req.name } : {}),
      room: req.room,
      grants: grantsSchema.parse(req.grants ?? {}),
      iat: now,
      exp: now + (req.ttlSec ?? this.config.tokenTtlSec),
    });
    return signHs256(claims, secret, apiKey);
  }

  /** Checks a token without binding it to a room (listings such as /api/streams). */
  async verifyAnyRoom(token: string | undefined): Promise<Principal> {
    if (this.openMode) return this.verify(undefined, '*');
    const claims = await this.#claims(token);
    return { identity: claims.sub, name: claims.name, room: claims.room, grants: claims.grants, expiresAt: claims.exp };
  }

  /**
   * Checks a token for a room. Open mode: no token needed, everything granted.
   * Throws UNAUTHORIZED (missing), TOKEN_INVALID, TOKEN_EXPIRED or FORBIDDEN (wrong room / no join).
   */
  async verify(token: string | undefined, room: string): Promise<Principal> {
    if (this.openMode) {
      return { identity: 'anonymous', name: undefined, room, grants: ALL_GRANTS, expiresAt: undefined };
    }
    const claims = await this.#claims(token);
    if (claims.room !== '*' && claims.room !== room) {
      throw new ParleyError('FORBIDDEN', `the token is for room ${claims.room}, not ${room}`);
    }
    return { identity: claims.sub, name: claims.name, room, grants: claims.grants, expiresAt: claims.exp };
  }

  async #claims(token: string | undefined): Promise<TokenClaims> {
    if (!token) throw new ParleyError('UNAUTHORIZED', 'this server requires an access token');
    const parsed = tokenClaimsSchema.safeParse(await this.#verifier.verify(token));
    if (!parsed.success) throw new ParleyError('TOKEN_INVALID', `the token claims are invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }
}
