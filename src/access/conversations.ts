import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { auditEvents } from '../../db/schema/access';
import { apiKeys, memberships, ROLES, type Role } from '../../db/schema/auth';
import {
  type ConversationPolicy,
  conversationPolicies,
  conversations,
} from '../../db/schema/conversations';
import { roleAtLeast } from '../auth/roles';
import type { Viewer } from '../auth/viewer';
import type { AuthedContext } from '../context';
import { InputError, NotFoundError } from '../errors';

/** What one viewer may read of the organization's conversations. */
export interface ConversationAccess {
  /** Inboxes the viewer may read; null: every inbox. */
  inboxes: string[] | null;
  /** Whether message text and customer references show with personal data redacted. */
  masked: boolean;
  policyId: string | null;
}

/**
 * The policy that applies, as for datasets: for an API key only one naming it; for a member one
 * naming them, else one naming their role.
 */
function applicable(policies: readonly ConversationPolicy[], viewer: Viewer) {
  if (viewer.kind === 'API_KEY')
    return (
      policies.find(
        (p) => p.principalKind === 'API_KEY' && p.principalApiKeyId === viewer.apiKeyId,
      ) ?? null
    );
  return (
    policies.find((p) => p.principalKind === 'USER' && p.principalUserId === viewer.userId) ??
    policies.find((p) => p.principalKind === 'ROLE' && p.principalRole === viewer.role) ??
    null
  );
}

/**
 * The viewer's access to conversations, or null when it has none: the visibility rule of
 * datasets (`visibleUnder`) — its org's only, and an API key only where a policy names it.
 * Personal data in messages is redacted below ADMIN unless a policy says otherwise.
 */
export async function conversationAccess(ctx: AuthedContext): Promise<ConversationAccess | null> {
  const viewer = ctx.viewer;
  const policies = await ctx.db
    .select()
    .from(conversationPolicies)
    .where(eq(conversationPolicies.orgId, viewer.orgId));
  const policy = applicable(policies, viewer);
  if (viewer.kind === 'API_KEY' && !policy) return null;
  const admin = viewer.kind === 'USER' && roleAtLeast(viewer.role, 'ADMIN');
  const masked = policy?.personalData ? policy.personalData !== 'CLEAR' : !admin;
  return { inboxes: policy?.inboxes ?? null, masked, policyId: policy?.id ?? null };
}

/** The SQL condition for conversations the viewer may read under `access`. */
export function conversationVisibleTo(viewer: Viewer, access: ConversationAccess): SQL {
  const inOrg = eq(conversations.orgId, viewer.orgId);
  if (access.inboxes === null) return inOrg;
  if (access.inboxes.length === 0) return sql`false`;
  return and(inOrg, inArray(conversations.inbox, access.inboxes))!;
}

/** Whether a conversation of the viewer's org in `inbox` is readable under `access`. */
export function inboxVisible(access: ConversationAccess, inbox: string): boolean {
  return access.inboxes === null || access.inboxes.includes(inbox);
}

/** Appends the audit event of one read of conversations (no dataset: those columns stay null). */
export async function recordConversationRead(
  ctx: AuthedContext,
  read: { action: string; access: ConversationAccess; filter: unknown; rowCount: number },
): Promise<void> {
  const v = ctx.viewer;
  await ctx.db.insert(auditEvents).values({
    orgId: v.orgId,
    action: read.action,
    viewerKind: v.kind,
    userId: v.userId,
    apiKeyId: v.apiKeyId,
    columnsRead: ['text', 'customer_ref'],
    columnsMasked: read.access.masked ? ['text', 'customer_ref'] : [],
    filter: read.filter ?? null,
    rowCount: read.rowCount,
    requestId: ctx.requestId,
  });
}

export interface ConversationPolicyInput {
  principalKind: 'ROLE' | 'USER' | 'API_KEY';
  role: string | null;
  userId: string | null;
  apiKeyId: string | null;
  inboxes: string[] | null;
  personalData: 'CLEAR' | 'MASK' | null;
}

/**
 * Creates or replaces the policy naming a principal of the caller's organization. Only ADMIN
 * and up reach this (who read personal data in clear themselves), so a policy never grants more
 * than its author holds.
 */
export async function setConversationPolicy(ctx: AuthedContext, input: ConversationPolicyInput) {
  const orgId = ctx.viewer.orgId;
  const kind = input.principalKind;
  if (kind === 'ROLE' && !ROLES.includes(input.role as Role))
    throw new InputError('role must be OWNER, ADMIN, ANALYST or VIEWER.', 'role');
  if (kind === 'USER') {
    if (!input.userId) throw new InputError('userId is required for USER.', 'userId');
    const [member] = await ctx.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, input.userId)));
    if (!member) throw new NotFoundError('User');
  }
  if (kind === 'API_KEY') {
    if (!input.apiKeyId) throw new InputError('apiKeyId is required for API_KEY.', 'apiKeyId');
    const [key] = await ctx.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, input.apiKeyId)));
    if (!key) throw new NotFoundError('ApiKey');
  }
  const principal = {
    principalKind: kind,
    principalRole: kind === 'ROLE' ? (input.role as Role) : null,
    principalUserId: kind === 'USER' ? input.userId : null,
    principalApiKeyId: kind === 'API_KEY' ? input.apiKeyId : null,
  };
  return ctx.db.transaction(async (tx) => {
    const p = conversationPolicies;
    await tx
      .delete(p)
      .where(
        and(
          eq(p.orgId, orgId),
          eq(p.principalKind, kind),
          kind === 'ROLE'
            ? eq(p.principalRole, principal.principalRole!)
            : kind === 'USER'
              ? eq(p.principalUserId, principal.principalUserId!)
              : eq(p.principalApiKeyId, principal.principalApiKeyId!),
        ),
      );
    const [policy] = await tx
      .insert(p)
      .values({ orgId, ...principal, inboxes: input.inboxes, personalData: input.personalData })
      .returning();
    return policy!;
  });
}
