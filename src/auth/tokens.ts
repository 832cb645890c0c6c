import { errors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors';

export interface TokenClaims {
  userId: string;
  orgId: string;
  expiresAt: Date;
}

const ISSUER = 'peso';

/** The HMAC key of the last secret used, imported once rather than for every token. */
let imported: { secret: string; key: Promise<CryptoKey> } | null = null;

function key(secret: string): Promise<CryptoKey> {
  if (imported?.secret !== secret)
    imported = {
      secret,
      key: crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign', 'verify'],
      ),
    };
  return imported.key;
}

export async function signToken(
  secret: string,
  claims: { userId: string; orgId: string },
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({ org: claims.orgId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await key(secret));
  return { token, expiresAt };
}

/** At most this many verified tokens are kept; the oldest kept goes first. */
const VERIFIED_MAX = 10_000;

/**
 * Tokens whose signature was verified, by the whole token string (signature included), with
 * the secret that verified them and their claims. A token is served from here only under that
 * same secret and only before its `exp` (as `jwtVerify` judges it): equal strings carry equal
 * signatures, so nothing here is trusted that was not verified under the secret asked for. A
 * token cannot be revoked on its own; what can end it early is its membership, which
 * `resolveViewer` checks on every request after this (src/access/cache.ts `membershipOf`).
 */
const verified = new Map<string, { secret: string; userId: string; orgId: string; exp: number }>();

/** Verifies a token's signature and expiry; any failure is an `UnauthenticatedError`. */
export async function verifyToken(secret: string, token: string): Promise<TokenClaims> {
  const hit = verified.get(token);
  if (hit && hit.secret === secret) {
    if (Date.now() < hit.exp)
      return { userId: hit.userId, orgId: hit.orgId, expiresAt: new Date(hit.exp) };
    verified.delete(token);
  }
  const claims = await verifySignature(secret, token);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, {
    secret,
    userId: claims.userId,
    orgId: claims.orgId,
    exp: claims.expiresAt.getTime(),
  });
  return claims;
}

async function verifySignature(secret: string, token: string): Promise<TokenClaims> {
  try {
    const { payload } = await jwtVerify(token, await key(secret), {
      issuer: ISSUER,
      algorithms: ['HS256'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || !payload.exp) {
      throw new UnauthenticatedError('Invalid token.');
    }
    return { userId: payload.sub, orgId: payload.org, expiresAt: new Date(payload.exp * 1000) };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('Token expired.');
    throw new UnauthenticatedError('Invalid token.');
  }
}
