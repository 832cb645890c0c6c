import { and, desc, eq, gte, lt, lte } from 'drizzle-orm';
import { asJson, query } from '../../db/client';
import { type AuditEvent, auditEvents } from '../../db/schema/access';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import { Params } from './mask';

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

/** A run for the caller's query history, written with its audit event. */
export interface HistoryRecord {
  kind: string;
  input: unknown;
  /** `performance.now()` when the request started. */
  started: number;
}

/**
 * Records a gated read: its audit event and, for queries people run, their history entry — in
 * one statement (one round trip, one commit, and never one without the other).
 */
export async function recordRead(
  ctx: AuthedContext,
  record: AuditRecord,
  history: HistoryRecord | null,
): Promise<void> {
  if (!history) return recordAudit(ctx, record);
  const p = new Params();
  const v = ctx.viewer;
  const auditValues = [
    p.bind(v.orgId, 'uuid'),
    p.bind(record.action, 'text'),
    p.bind(v.kind, 'text'),
    p.bind(v.userId, 'uuid'),
    p.bind(v.apiKeyId, 'uuid'),
    p.bind(record.datasetId, 'uuid'),
    p.bind(record.versionId, 'uuid'),
    `array(select jsonb_array_elements_text(${p.bind(JSON.stringify(record.columnsRead), 'jsonb')}))`,
    `array(select jsonb_array_elements_text(${p.bind(JSON.stringify(record.columnsMasked), 'jsonb')}))`,
    p.bind(JSON.stringify(asJson(record.filter ?? null)), 'jsonb'),
    p.bind(record.rowCount === null ? null : String(record.rowCount), 'int'),
    p.bind(ctx.requestId, 'text'),
  ];
  const historyValues = [
    p.bind(v.orgId, 'uuid'),
    p.bind(v.userId, 'uuid'),
    p.bind(v.apiKeyId, 'uuid'),
    p.bind(record.datasetId, 'uuid'),
    p.bind(record.versionId, 'uuid'),
    p.bind(history.kind, 'text'),
    p.bind(JSON.stringify(asJson(history.input ?? {})), 'jsonb'),
    p.bind(String(record.rowCount ?? 0), 'int'),
    p.bind(String(Math.round(performance.now() - history.started)), 'int'),
  ];
  await query(
    ctx.database,
    `with audit as (
       insert into audit_events (org_id, action, viewer_kind, user_id, api_key_id, dataset_id,
         version_id, columns_read, columns_masked, filter, row_count, request_id)
       values (${auditValues.join(', ')}))
     insert into query_history (org_id, user_id, api_key_id, dataset_id, version_id, kind, query,
       row_count, ms)
     values (${historyValues.join(', ')})`,
    p.values,
  );
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
