import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { apiKeys, memberships, type Role } from '../../db/schema/auth';
import { apiKeyByPrefix, membershipOf, recordKeyUse } from '../access/cache';
import { UnauthenticatedError } from '../errors';
import { isApiKeyFormat, parseApiKey, secretMatches } from './api-keys';
import { verifyToken } from './tokens';

/** Who is calling: a member signed in with a JWT, or a partner's API key. Always within one org. */
export interface Viewer {
  kind: 'USER' | 'API_KEY';
  orgId: string;
  role: Role;
  userId: string | null;
  apiKeyId: string | null;
  membershipId: string | null;
  attributes: Record<string, string>;
  /** When the credential stops being valid on its own (JWT expiry, key expiry). */
  expiresAt: Date | null;
}

/** How often an API key's last-used time is written at most. */
const LAST_USED_RESOLUTION_SECONDS = 60;

/**
 * Turns an `Authorization` value into a viewer. No credential gives `null` (anonymous); a
 * credential that is malformed, expired, revoked or no longer backed by a membership throws
 * `UnauthenticatedError` — a bad credential never silently becomes anonymous.
 */
export async function resolveViewer(
  db: Db,
  secret: string,
  authorization: string | null | undefined,
  /** The access caches are at an epoch read since the request began (`adoptEpoch`). */
  synced = false,
): Promise<Viewer | null> {
  if (!authorization?.trim()) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <token or API key>".');
  const credential = match[1]!;
  return isApiKeyFormat(credential)
    ? viewerFromApiKey(db, credential, synced)
    : viewerFromToken(db, secret, credential, synced);
}

async function viewerFromToken(
  db: Db,
  secret: string,
  token: string,
  synced: boolean,
): Promise<Viewer> {
  const claims = await verifyToken(secret, token);
  const membership = await membershipOf(
    db,
    claims.userId,
    claims.orgId,
    async () => {
      const [row] = await db
        .select()
        .from(memberships)
        .where(and(eq(memberships.userId, claims.userId), eq(memberships.orgId, claims.orgId)));
      return row;
    },
    synced,
  );
  if (!membership) throw new UnauthenticatedError('Membership no longer exists.');
  return viewerOfMembership(membership, claims.expiresAt);
}

/**
 * The viewer behind a credential recorded earlier (a membership or an API key), with its rights
 * as they are now: used where work signed for one caller runs later, such as signed uploads.
 */
export async function viewerFor(
  db: Db,
  principal: { membershipId: string | null; apiKeyId: string | null },
): Promise<Viewer> {
  if (principal.apiKeyId) {
    const [key] = await db.select().from(apiKeys).where(eq(apiKeys.id, principal.apiKeyId));
    if (!key) throw new UnauthenticatedError('API key no longer exists.');
    return viewerOfKey(db, key);
  }
  const [membership] = principal.membershipId
    ? await db.select().from(memberships).where(eq(memberships.id, principal.membershipId))
    : [];
  if (!membership) throw new UnauthenticatedError('Membership no longer exists.');
  return viewerOfMembership(membership, null);
}

function viewerOfMembership(
  membership: typeof memberships.$inferSelect,
  expiresAt: Date | null,
): Viewer {
  return {
    kind: 'USER',
    orgId: membership.orgId,
    role: membership.role,
    userId: membership.userId,
    apiKeyId: null,
    membershipId: membership.id,
    attributes: membership.attributes,
    expiresAt,
  };
}

async function viewerFromApiKey(db: Db, credential: string, synced: boolean): Promise<Viewer> {
  const parsed = parseApiKey(credential);
  if (!parsed) throw new UnauthenticatedError('Invalid API key.');
  const key = await apiKeyByPrefix(
    db,
    parsed.prefix,
    async () => {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.prefix, parsed.prefix));
      return row;
    },
    synced,
  );
  if (!key || !secretMatches(parsed.secret, key.secretHash)) {
    throw new UnauthenticatedError('Invalid API key.');
  }
  return viewerOfKey(db, key);
}

async function viewerOfKey(db: Db, key: typeof apiKeys.$inferSelect): Promise<Viewer> {
  if (key.revokedAt) throw new UnauthenticatedError('API key revoked.');
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) {
    throw new UnauthenticatedError('API key expired.');
  }
  await recordKeyUse(db, key.id, () =>
    db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          eq(apiKeys.id, key.id),
          or(
            isNull(apiKeys.lastUsedAt),
            lt(
              apiKeys.lastUsedAt,
              sql`now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS})`,
            ),
          ),
        ),
      ),
  );
  return {
    kind: 'API_KEY',
    orgId: key.orgId,
    role: key.role,
    userId: null,
    apiKeyId: key.id,
    membershipId: null,
    attributes: {},
    expiresAt: key.expiresAt,
  };
}
