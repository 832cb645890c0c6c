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
import { coerce, compileFilter, viewerValue } from './compile';
import { type Filter, filterColumns } from './language';
import { Params } from './mask';

/** What one viewer may read of the organization's conversations. */
export interface ConversationAccess {
  /** Inboxes the viewer may read; null: every inbox. */
  inboxes: string[] | null;
  /** The policy's row filter over conversation fields (with `$viewer.…`); null: none. */
  rowFilter: Filter | null;
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
  return {
    inboxes: policy?.inboxes ?? null,
    rowFilter: (policy?.rowFilter as Filter | null | undefined) ?? null,
    masked,
    policyId: policy?.id ?? null,
  };
}

/**
 * Conversation fields a row filter may name, as SQL over `conversations`; `customer.<name>` reads
 * a customer attribute (as text). Values are compared as text, like a dataset's STRING column.
 */
const FIELDS: Record<string, SQL> = {
  channel: sql`${conversations.channel}`,
  inbox: sql`${conversations.inbox}`,
  status: sql`${conversations.status}::text`,
  language: sql`${conversations.language}`,
  intent: sql`${conversations.intent}`,
  sentiment: sql`${conversations.sentimentLabel}::text`,
  customerRef: sql`${conversations.customerRef}`,
};
const CUSTOMER_FIELD = /^customer\.([A-Za-z_][A-Za-z0-9_]{0,62})$/;
const VIEWER_FIELDS = /^\$viewer\.(id|orgId|role|attributes\.[A-Za-z0-9_.-]{1,100})$/;

function fieldSql(name: string): SQL | null {
  const known = FIELDS[name];
  if (known) return known;
  const attribute = CUSTOMER_FIELD.exec(name)?.[1];
  return attribute ? sql`(${conversations.customerAttributes} ->> ${attribute})` : null;
}

/**
 * A row filter as SQL for one viewer: the dataset filter compiler (same operators, same
 * `$viewer.…` references, every value bound) over conversation fields. A viewer field that is
 * absent matches nothing; a field the filter names that is unknown lets no row through.
 */
export function rowFilterSql(filter: Filter, viewer: Viewer): SQL {
  const names = filterColumns(filter);
  if (names.some((n) => fieldSql(n) === null)) return sql`false`;
  const params = new Params();
  const fields: SQL[] = [];
  const text = compileFilter(
    filter,
    (name) => {
      fields.push(fieldSql(name)!);
      return { expr: `«${fields.length - 1}»`, type: 'STRING' };
    },
    params,
    (value, type, label) => {
      const resolved = typeof value === 'string' ? viewerValue(value, viewer) : value;
      if (resolved === null) return null;
      try {
        return coerce(resolved, type, label);
      } catch {
        return null;
      }
    },
  );
  // The compiled text names fields as «i» and values as $n::text (nothing else a caller wrote
  // reaches it): rebuild it as drizzle SQL so it composes with the other conditions.
  const chunks: SQL[] = [];
  for (const part of text.split(/(«\d+»|\$\d+(?=::text))/)) {
    if (!part) continue;
    if (part.startsWith('«')) chunks.push(fields[Number(part.slice(1, -1))]!);
    else if (/^\$\d+$/.test(part)) chunks.push(sql`${params.values[Number(part.slice(1)) - 1]}`);
    else chunks.push(sql.raw(part));
  }
  return sql.join(chunks);
}

/** Checks a policy's row filter: known fields, known `$viewer.…` references, valid shape. */
export function checkRowFilter(filter: Filter): void {
  for (const name of filterColumns(filter))
    if (fieldSql(name) === null)
      throw new InputError(
        `No conversation field named "${name}" (channel, inbox, status, language, intent, sentiment, customerRef, customer.<attribute>).`,
        'rowFilter',
      );
  compileFilter(
    filter,
    () => ({ expr: 'null', type: 'STRING' }),
    new Params(),
    (value, type, label) => {
      if (typeof value === 'string' && value.startsWith('$') && !value.startsWith('$$')) {
        if (!VIEWER_FIELDS.test(value))
          throw new InputError(
            `${label}: ${JSON.stringify(value)} is not a viewer reference ($viewer.id, $viewer.orgId, $viewer.role, $viewer.attributes.<name>).`,
            'rowFilter',
          );
        return null;
      }
      return coerce(typeof value === 'string' ? value.replace(/^\$\$/, '$') : value, type, label);
    },
  );
}

/** The SQL condition for conversations the viewer may read under `access`. */
export function conversationVisibleTo(viewer: Viewer, access: ConversationAccess): SQL {
  const conditions: SQL[] = [eq(conversations.orgId, viewer.orgId)];
  if (access.inboxes !== null) {
    if (access.inboxes.length === 0) return sql`false`;
    conditions.push(inArray(conversations.inbox, access.inboxes));
  }
  if (access.rowFilter) conditions.push(sql`(${rowFilterSql(access.rowFilter, viewer)})`);
  return and(...conditions)!;
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
  rowFilter?: Filter | null;
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
  if (input.rowFilter) checkRowFilter(input.rowFilter);
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
      .values({
        orgId,
        ...principal,
        inboxes: input.inboxes,
        rowFilter: (input.rowFilter ?? null) as Record<string, unknown> | null,
        personalData: input.personalData,
      })
      .returning();
    return policy!;
  });
}
