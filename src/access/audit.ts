import { and, desc, eq, gte, lt, lte } from 'drizzle-orm';
import { query } from '../../db/client';
import { type AuditEvent, auditEvents } from '../../db/schema/access';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import { unrepeatable } from './effects';
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

/** A run for the caller's query history, written with its audit event. */
export interface HistoryRecord {
  kind: string;
  input: unknown;
  /** `performance.now()` when the request started. */
  started: number;
}

/** Appends one event for a gated read by the context's viewer. */
export function recordAudit(ctx: AuthedContext, record: AuditRecord): Promise<void> {
  return recordRead(ctx, record, null);
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
  // A result that wrote the audit log is never answered again without writing it.
  unrepeatable(ctx);
  const p = new Params();
  const v = ctx.viewer;
  const textArray = (values: string[]) =>
    `array(select jsonb_array_elements_text(${p.bind(JSON.stringify(values), 'jsonb')}))`;
  const audit = `insert into audit_events (org_id, action, viewer_kind, user_id, api_key_id,
      dataset_id, version_id, columns_read, columns_masked, filter, row_count, request_id)
    values (${[
      p.bind(v.orgId, 'uuid'),
      p.bind(record.action, 'text'),
      p.bind(v.kind, 'text'),
      p.bind(v.userId, 'uuid'),
      p.bind(v.apiKeyId, 'uuid'),
      p.bind(record.datasetId, 'uuid'),
      p.bind(record.versionId, 'uuid'),
      textArray(record.columnsRead),
      textArray(record.columnsMasked),
      p.bind(JSON.stringify(record.filter ?? null), 'jsonb'),
      p.bind(record.rowCount === null ? null : String(record.rowCount), 'int'),
      p.bind(ctx.requestId, 'text'),
    ].join(', ')})`;
  if (!history) {
    await query(ctx.database, audit, p.values);
    return;
  }
  const historyValues = [
    p.bind(v.orgId, 'uuid'),
    p.bind(v.userId, 'uuid'),
    p.bind(v.apiKeyId, 'uuid'),
    p.bind(record.datasetId, 'uuid'),
    p.bind(record.versionId, 'uuid'),
    p.bind(history.kind, 'text'),
    p.bind(JSON.stringify(history.input ?? {}), 'jsonb'),
    p.bind(String(record.rowCount ?? 0), 'int'),
    p.bind(String(Math.round(performance.now() - history.started)), 'int'),
  ];
  await query(
    ctx.database,
    `with audit as (${audit})
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
