import { and, desc, eq, gte, lt, lte } from 'drizzle-orm';
import { asJson } from '../../db/client';
import { type AuditEvent, auditEvents } from '../../db/schema/access';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';

/** What a gated read touched: the facts the audit log keeps. */
export interface AuditRecord {
  action: string;
  datasetId: string;
  versionId: string;
  columnsRead: string[];
  columnsMasked: string[];
  filter: unknown;
  rowCount: number | null;
}

/** Appends one event for a gated read by the context's viewer. */
export async function recordAudit(ctx: AuthedContext, record: AuditRecord): Promise<void> {
  await ctx.db.insert(auditEvents).values({
    orgId: ctx.viewer.orgId,
    action: record.action,
    viewerKind: ctx.viewer.kind,
    userId: ctx.viewer.userId,
    apiKeyId: ctx.viewer.apiKeyId,
    datasetId: record.datasetId,
    versionId: record.versionId,
    columnsRead: record.columnsRead,
    columnsMasked: record.columnsMasked,
    filter: asJson(record.filter ?? null),
    rowCount: record.rowCount,
    requestId: ctx.requestId,
  });
}

export interface AuditFilter {
  datasetId?: string | null;
  userId?: string | null;
  apiKeyId?: string | null;
  action?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/**
 * The organization's audit events, newest first, keyset-paged on the event id: `after` is the
 * id of the last event of the previous page, so appends never shift a page.
 */
export async function listAuditEvents(
  ctx: AuthedContext,
  filter: AuditFilter,
  page: { first: number; after: number | null },
): Promise<{ events: AuditEvent[]; hasNextPage: boolean }> {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > 1000)
    throw new InputError('first must be between 1 and 1000.', 'first');
  const conditions = [eq(auditEvents.orgId, ctx.viewer.orgId)];
  if (filter.datasetId) conditions.push(eq(auditEvents.datasetId, filter.datasetId));
  if (filter.userId) conditions.push(eq(auditEvents.userId, filter.userId));
  if (filter.apiKeyId) conditions.push(eq(auditEvents.apiKeyId, filter.apiKeyId));
  if (filter.action) conditions.push(eq(auditEvents.action, filter.action));
  if (filter.since) conditions.push(gte(auditEvents.at, filter.since));
  if (filter.until) conditions.push(lte(auditEvents.at, filter.until));
  if (page.after !== null) conditions.push(lt(auditEvents.id, page.after));
  const rows = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(page.first + 1);
  return { events: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
}
