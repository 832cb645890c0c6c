import { randomBytes } from 'node:crypto';
import { and, asc, count, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import { type Db, isUniqueViolation } from '../../db/client';
import {
  type ApiKey,
  apiKeys,
  type Membership,
  memberships,
  type Organization,
  organizations,
  type Role,
  type User,
  users,
} from '../../db/schema/auth';
import { accessChanged, bumpAccessEpoch, flushKeyUse } from '../access/cache';
import type { AuthedContext } from '../context';
import {
  ConflictError,
  ForbiddenError,
  InputError,
  NotFoundError,
  UnauthenticatedError,
} from '../errors';
import type { RateLimiter } from '../limits/rate-limit';
import { generateApiKey } from './api-keys';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords';
import { roleAtLeast } from './roles';
import { signToken } from './tokens';

export interface SessionResult {
  token: string;
  expiresAt: Date;
  userId: string;
  orgId: string;
}

interface TokenDeps {
  db: Db;
  config: { secret: string; jwtTtlSeconds: number };
  /** Sign-in throttling and the client's address, on requests the API serves. */
  limiter?: RateLimiter;
  address?: string | null;
}

function slugify(name: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'org'}-${randomBytes(3).toString('hex')}`;
}

/** Creates a user, their organization and their OWNER membership in one transaction. */
export async function signUp(
  deps: TokenDeps,
  input: { email: string; password: string; name: string; organizationName: string },
): Promise<SessionResult> {
  const passwordHash = await hashPassword(input.password);
  try {
    const { user, org } = await deps.db.transaction(async (tx) => {
      const [org] = await tx
        .insert(organizations)
        .values({ name: input.organizationName, slug: slugify(input.organizationName) })
        .returning();
      const [user] = await tx
        .insert(users)
        .values({ email: input.email, name: input.name, passwordHash })
        .returning();
      await tx.insert(memberships).values({ orgId: org!.id, userId: user!.id, role: 'OWNER' });
      return { user: user!, org: org! };
    });
    const { token, expiresAt } = await signToken(
      deps.config.secret,
      { userId: user.id, orgId: org.id },
      deps.config.jwtTtlSeconds,
    );
    return { token, expiresAt, userId: user.id, orgId: org.id };
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError('An account with this email already exists.');
    throw error;
  }
}

/**
 * Checks a password and issues a token for one of the user's organizations (the oldest
 * membership unless `orgId` names another). Unknown emails cost the same time as wrong passwords,
 * and are throttled the same way: while an account or an address is backing off after failed
 * attempts, the password is not even checked (`RATE_LIMITED` with the seconds to wait).
 */
export async function login(
  deps: TokenDeps,
  input: { email: string; password: string; orgId?: string | null },
): Promise<SessionResult> {
  const address = deps.address ?? null;
  await deps.limiter?.beforeLogin(input.email, address);
  const [user] = await deps.db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, input.email.toLowerCase()));
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_HASH);
  if (!user || !ok) {
    await deps.limiter?.loginFailed(input.email, address);
    throw new UnauthenticatedError('Invalid email or password.');
  }
  await deps.limiter?.loginSucceeded(input.email);
  const conditions = [eq(memberships.userId, user.id)];
  if (input.orgId) conditions.push(eq(memberships.orgId, input.orgId));
  const [membership] = await deps.db
    .select()
    .from(memberships)
    .where(and(...conditions))
    .orderBy(asc(memberships.createdAt))
    .limit(1);
  if (!membership) {
    if (input.orgId) throw new NotFoundError('Organization');
    throw new UnauthenticatedError('This account belongs to no organization.');
  }
  const { token, expiresAt } = await signToken(
    deps.config.secret,
    { userId: user.id, orgId: membership.orgId },
    deps.config.jwtTtlSeconds,
  );
  return { token, expiresAt, userId: user.id, orgId: membership.orgId };
}

function assertCanGrant(ctx: AuthedContext, role: Role): void {
  if (!roleAtLeast(ctx.viewer.role, role)) {
    throw new ForbiddenError(
      `${article(ctx.viewer.role)} ${ctx.viewer.role} cannot grant the ${role} role.`,
    );
  }
}

/** Creates an API key for the viewer's org. The secret is returned here and never again. */
export async function createApiKey(
  ctx: AuthedContext,
  input: { name: string; role: Role; expiresAt?: Date | null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  assertCanGrant(ctx, input.role);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new InputError('expiresAt must be in the future.', 'expiresAt');
  }
  const { key, prefix, secretHash } = generateApiKey();
  const [apiKey] = await ctx.db
    .insert(apiKeys)
    .values({
      orgId: ctx.viewer.orgId,
      createdBy: ctx.viewer.userId,
      name: input.name,
      prefix,
      secretHash,
      role: input.role,
      expiresAt: input.expiresAt ?? null,
    })
    .returning();
  ctx.log.info({ apiKeyId: apiKey!.id, role: input.role }, 'api key created');
  return { apiKey: apiKey!, secret: key };
}

export async function revokeApiKey(ctx: AuthedContext, apiKeyId: string): Promise<ApiKey> {
  // The epoch moves in the same transaction, so no process serves the key from its cache to a
  // request that starts after this commits (src/access/cache.ts).
  const { apiKey, epoch } = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
      .where(and(eq(apiKeys.id, apiKeyId), eq(apiKeys.orgId, ctx.viewer.orgId)))
      .returning();
    if (!row) throw new NotFoundError('API key');
    return { apiKey: row, epoch: await bumpAccessEpoch(tx) };
  });
  accessChanged(ctx, epoch, [{ kind: 'apiKey', apiKeyId: apiKey.id }]);
  ctx.log.info({ apiKeyId }, 'api key revoked');
  return apiKey;
}

export async function listApiKeys(
  ctx: AuthedContext,
  page: { limit: number; offset: number },
): Promise<ApiKey[]> {
  // Uses recorded by this process and not yet written are written first.
  await flushKeyUse(ctx.db);
  return ctx.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.orgId, ctx.viewer.orgId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit)
    .offset(page.offset);
}

export async function listMembers(
  ctx: AuthedContext,
  page: { limit: number; offset: number },
): Promise<Membership[]> {
  return ctx.db
    .select()
    .from(memberships)
    .where(eq(memberships.orgId, ctx.viewer.orgId))
    .orderBy(asc(memberships.createdAt), asc(memberships.id))
    .limit(page.limit)
    .offset(page.offset);
}

/**
 * Adds a member to the viewer's org. A new email gets an account with a generated password,
 * returned once so the admin can pass it on; an existing account just gains the membership.
 */
export async function inviteMember(
  ctx: AuthedContext,
  input: { email: string; name: string; role: Role },
): Promise<{ membership: Membership; temporaryPassword: string | null }> {
  assertCanGrant(ctx, input.role);
  const temporaryPassword = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(temporaryPassword);
  try {
    return await ctx.db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(users)
        .where(eq(sql`lower(${users.email})`, input.email.toLowerCase()));
      const user =
        existing ??
        (
          await tx
            .insert(users)
            .values({ email: input.email, name: input.name, passwordHash })
            .returning()
        )[0]!;
      const [membership] = await tx
        .insert(memberships)
        .values({ orgId: ctx.viewer.orgId, userId: user.id, role: input.role })
        .returning();
      return { membership: membership!, temporaryPassword: existing ? null : temporaryPassword };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError('This person is already a member.');
    throw error;
  }
}

async function findMembership(ctx: AuthedContext, membershipId: string): Promise<Membership> {
  const [membership] = await ctx.db
    .select()
    .from(memberships)
    .where(and(eq(memberships.id, membershipId), eq(memberships.orgId, ctx.viewer.orgId)));
  if (!membership) throw new NotFoundError('Member');
  return membership;
}

/** Refuses to touch a member more powerful than the viewer, or to leave the org without owner. */
async function assertCanManage(ctx: AuthedContext, target: Membership, nextRole: Role | null) {
  if (!roleAtLeast(ctx.viewer.role, target.role)) {
    throw new ForbiddenError(
      `${article(ctx.viewer.role)} ${ctx.viewer.role} cannot change ${article(target.role).toLowerCase()} ${target.role}.`,
    );
  }
  if (target.role === 'OWNER' && nextRole !== 'OWNER') {
    const [row] = await ctx.db
      .select({ owners: count() })
      .from(memberships)
      .where(
        and(
          eq(memberships.orgId, ctx.viewer.orgId),
          eq(memberships.role, 'OWNER'),
          ne(memberships.id, target.id),
        ),
      );
    if (!row || row.owners === 0)
      throw new ConflictError('An organization needs at least one owner.');
  }
}

export async function setMemberRole(
  ctx: AuthedContext,
  input: { membershipId: string; role: Role },
): Promise<Membership> {
  assertCanGrant(ctx, input.role);
  const target = await findMembership(ctx, input.membershipId);
  await assertCanManage(ctx, target, input.role);
  return changeMembership(ctx, target.id, { role: input.role });
}

export async function setMemberAttributes(
  ctx: AuthedContext,
  input: { membershipId: string; attributes: Record<string, string> },
): Promise<Membership> {
  const target = await findMembership(ctx, input.membershipId);
  return changeMembership(ctx, target.id, { attributes: input.attributes });
}

export async function removeMember(ctx: AuthedContext, membershipId: string): Promise<Membership> {
  const target = await findMembership(ctx, membershipId);
  await assertCanManage(ctx, target, null);
  const epoch = await ctx.db.transaction(async (tx) => {
    await tx.delete(memberships).where(eq(memberships.id, target.id));
    return bumpAccessEpoch(tx);
  });
  accessChanged(ctx, epoch, [{ kind: 'membership', membershipId: target.id }]);
  return target;
}

/**
 * Updates a membership and, in the same transaction, bumps the access epoch: the caches of every
 * process drop it before the next request (src/access/cache.ts).
 */
async function changeMembership(
  ctx: AuthedContext,
  membershipId: string,
  changes: Partial<Pick<Membership, 'role' | 'attributes'>>,
): Promise<Membership> {
  const { updated, epoch } = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(memberships)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(memberships.id, membershipId))
      .returning();
    return { updated: row!, epoch: await bumpAccessEpoch(tx) };
  });
  accessChanged(ctx, epoch, [{ kind: 'membership', membershipId }]);
  return updated;
}

/** Batch loaders: each returns only rows visible from `orgId`, in any order. */
export async function loadOrganizations(db: Db, orgId: string, ids: readonly string[]) {
  return await db
    .select()
    .from(organizations)
    .where(and(inArray(organizations.id, [...ids]), eq(organizations.id, orgId)));
}

export async function loadMemberships(db: Db, orgId: string, ids: readonly string[]) {
  return await db
    .select()
    .from(memberships)
    .where(and(inArray(memberships.id, [...ids]), eq(memberships.orgId, orgId)));
}

/** Users are visible to an org when they are (or were made) members of it. */
export async function loadUsers(
  db: Db,
  orgId: string,
  ids: readonly string[],
): Promise<PublicUser[]> {
  return await db
    .select({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt })
    .from(users)
    .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.orgId, orgId)))
    .where(inArray(users.id, [...ids]));
}

export async function loadApiKeys(db: Db, orgId: string, ids: readonly string[]) {
  return await db
    .select()
    .from(apiKeys)
    .where(and(inArray(apiKeys.id, [...ids]), eq(apiKeys.orgId, orgId)));
}

export function userMemberships(db: Db, userId: string): Promise<Membership[]> {
  return db
    .select()
    .from(memberships)
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt));
}

/** A user as other members may see it: never the password hash. */
export type PublicUser = Pick<User, 'id' | 'email' | 'name' | 'createdAt'>;

export type { ApiKey, Membership, Organization };

function article(role: Role): string {
  return /^[AEIOU]/.test(role) ? 'An' : 'A';
}
