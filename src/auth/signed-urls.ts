import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors';

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Signs the token of a short-lived URL (uploads, exports). `audience` keeps a token for one
 * purpose from being replayed for another.
 */
export async function signUrlToken(
  secret: string,
  audience: string,
  claims: { subject: string; expiresAt: Date; data?: Record<string, unknown> },
): Promise<string> {
  return new SignJWT({ data: claims.data ?? {} })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.subject)
    .setAudience(audience)
    .setExpirationTime(Math.floor(claims.expiresAt.getTime() / 1000))
    .sign(key(secret));
}

/** Verifies a URL token; an expired, forged or foreign one is an `UnauthenticatedError`. */
export async function verifyUrlToken(
  secret: string,
  audience: string,
  token: string,
  what: string,
): Promise<{ subject: string; data: Record<string, unknown> }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key(secret), { audience, algorithms: ['HS256'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthenticatedError(`${what} expired.`);
    throw new UnauthenticatedError(`Invalid ${lowerFirst(what)}.`);
  }
  if (typeof payload.sub !== 'string')
    throw new UnauthenticatedError(`Invalid ${lowerFirst(what)}.`);
  return { subject: payload.sub, data: (payload.data ?? {}) as Record<string, unknown> };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
