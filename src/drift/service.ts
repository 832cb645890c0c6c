import { and, desc, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import { type DatasetVersion, datasets, datasetVersions } from '../../db/schema/datasets';
import {
  type AlertSeverity,
  type DriftAlert,
  type DriftMonitor,
  type DriftReportRow,
  driftAlerts,
  driftMonitors,
  driftReports,
  type WatchedColumn,
} from '../../db/schema/drift';
import { modelVersions } from '../../db/schema/models';
import { recordAudit } from '../access/audit';
import { clearColumn } from '../access/compile';
import { openGate } from '../access/gate';
import { datasetVisibleTo } from '../access/visibility';
import type { AuthedContext } from '../context';
import { InputError, NotFoundError } from '../errors';
import { runsOf } from '../jobs/runs';
import { findModel } from '../models/registry';
import type { ColumnDrift, DriftResult } from './check';
import type { DriftAlertEvent } from './events';

export const DRIFT_CHECK_JOB = 'drift.check';
/** A monitor's cron occurrence: one schedule per monitor, filed under its id. */
export const DRIFT_SCHEDULE_JOB = 'drift.scheduled';

/** The run state of drift reports: a check is a run on the job runtime like any other. */
export const driftReportRuns = runsOf<DriftReportRow>({
  noun: 'drift check',
  table: driftReports,
  publish: () => {},
});

export interface MonitorInput {
  name?: string | null;
  modelId?: string | null;
  datasetId?: string | null;
  referenceVersionId?: string | null;
  columns?: WatchedColumn[] | null;
  driftShare?: number | null;
  checkOnNewVersion?: boolean | null;
  /** Cron expression (UTC, five fields); null removes the schedule. */
  schedule?: string | null;
  retrainOnDrift?: boolean | null;
  promotionAlias?: string | null;
  promotionMargin?: number | null;
}

const ALIAS = /^[a-z][a-z0-9_-]{0,62}$/;

/** Monitors of datasets the viewer can see (an API key: only those a policy names it in). */
function visible(ctx: AuthedContext): SQL {
  return and(eq(driftMonitors.orgId, ctx.viewer.orgId), datasetVisibleTo(ctx.viewer))!;
}

export async function findMonitor(ctx: AuthedContext, monitorId: string): Promise<DriftMonitor> {
  const [row] = await ctx.db
    .select({ monitor: driftMonitors })
    .from(driftMonitors)
    .innerJoin(datasets, eq(datasets.id, driftMonitors.datasetId))
    .where(and(eq(driftMonitors.id, monitorId), visible(ctx)));
  if (!row) throw new NotFoundError('DriftMonitor');
  if (row.monitor.modelId) await findModel(ctx, row.monitor.modelId);
  return row.monitor;
}

export async function listMonitors(
  ctx: AuthedContext,
  filter: { modelId?: string | null; datasetId?: string | null },
): Promise<DriftMonitor[]> {
  const conditions = [visible(ctx)];
  if (filter.modelId) conditions.push(eq(driftMonitors.modelId, filter.modelId));
  if (filter.datasetId) conditions.push(eq(driftMonitors.datasetId, filter.datasetId));
  const rows = await ctx.db
    .select({ monitor: driftMonitors })
    .from(driftMonitors)
    .innerJoin(datasets, eq(datasets.id, driftMonitors.datasetId))
    .where(and(...conditions))
    .orderBy(desc(driftMonitors.createdAt))
    .limit(500);
  return rows.map((r) => r.monitor);
}

const CRON = /^\S+(\s+\S+){4}$/;

function validate(input: MonitorInput) {
  if (input.name !== undefined && input.name !== null && !input.name.trim())
    throw new InputError('A monitor needs a name.', 'name');
  if (input.driftShare != null && !(input.driftShare > 0 && input.driftShare <= 1))
    throw new InputError('driftShare must be above 0 and at most 1.', 'driftShare');
  if (input.schedule && !CRON.test(input.schedule.trim()))
    throw new InputError('schedule must be a cron expression of five fields.', 'schedule');
  if (input.promotionAlias != null && !ALIAS.test(input.promotionAlias))
    throw new InputError(
      'promotionAlias is lowercase letters, digits, - and _, starting with a letter.',
      'promotionAlias',
    );
  if (input.promotionAlias === 'challenger')
    throw new InputError(
      'promotionAlias cannot be "challenger": retrained versions take that alias while they wait.',
      'promotionAlias',
    );
  if (input.promotionMargin != null && !(input.promotionMargin >= 0 && input.promotionMargin <= 1))
    throw new InputError('promotionMargin must be between 0 and 1.', 'promotionMargin');
  for (const c of input.columns ?? [])
    if (c.threshold != null && !(Number.isFinite(c.threshold) && c.threshold > 0))
      throw new InputError(`Threshold of "${c.column}" must be a positive number.`, 'columns');
}

/** The watched columns must be readable in clear by the owner: a check reads them as the owner. */
async function checkColumns(
  ctx: AuthedContext,
  datasetId: string,
  versionId: string,
  columns: WatchedColumn[] | null | undefined,
) {
  const gate = await openGate(ctx, { datasetId, versionId });
  for (const c of columns ?? []) clearColumn(gate.access, c.column, 'watch', 'columns');
  return gate;
}

export async function createMonitor(
  ctx: AuthedContext,
  input: MonitorInput,
): Promise<DriftMonitor> {
  validate(input);
  let datasetId = input.datasetId ?? null;
  let referenceVersionId = input.referenceVersionId ?? null;
  if (input.modelId) {
    const model = await findModel(ctx, input.modelId);
    if (datasetId && datasetId !== model.datasetId)
      throw new InputError("A model's monitor watches the model's dataset.", 'datasetId');
    datasetId = model.datasetId;
    if (!referenceVersionId) {
      // The data the model's latest version was trained on.
      const [latest] = await ctx.db
        .select({ versionId: modelVersions.datasetVersionId })
        .from(modelVersions)
        .where(eq(modelVersions.modelId, model.id))
        .orderBy(desc(modelVersions.number))
        .limit(1);
      referenceVersionId = latest?.versionId ?? null;
    }
  }
  if (!datasetId) throw new InputError('Name a dataset or a model to monitor.', 'datasetId');
  if (input.retrainOnDrift && !input.modelId)
    throw new InputError(
      'Only a model monitor can retrain on drift: give modelId.',
      'retrainOnDrift',
    );
  const gate = await openGate(ctx, { datasetId, versionId: referenceVersionId });
  await checkColumns(ctx, datasetId, gate.version.id, input.columns);
  const [monitor] = await ctx.db
    .insert(driftMonitors)
    .values({
      orgId: ctx.viewer.orgId,
      name: input.name?.trim() || `${gate.dataset.name} drift`,
      modelId: input.modelId ?? null,
      datasetId,
      referenceVersionId: gate.version.id,
      columns: input.columns ?? null,
      driftShare: input.driftShare ?? 0.5,
      checkOnNewVersion: input.checkOnNewVersion ?? false,
      schedule: input.schedule?.trim() || null,
      retrainOnDrift: input.retrainOnDrift ?? false,
      promotionAlias: input.promotionAlias ?? 'production',
      promotionMargin: input.promotionMargin ?? 0.01,
      membershipId: ctx.viewer.membershipId,
      apiKeyId: ctx.viewer.apiKeyId,
    })
    .returning();
  if (monitor!.schedule) await scheduleOrUndo(ctx, monitor!, null);
  return monitor!;
}

/**
 * Files the monitor's cron schedule with the job runtime. pg-boss judges the expression: one it
 * refuses puts the monitor back as it was and answers BAD_USER_INPUT.
 */
async function scheduleOrUndo(
  ctx: AuthedContext,
  monitor: DriftMonitor,
  before: DriftMonitor | null,
): Promise<void> {
  try {
    if (monitor.schedule)
      await ctx.jobs.schedule(
        DRIFT_SCHEDULE_JOB,
        monitor.schedule,
        { monitorId: monitor.id },
        monitor.id,
      );
    else await ctx.jobs.unschedule(DRIFT_SCHEDULE_JOB, monitor.id);
  } catch (error) {
    if (before)
      await ctx.db.update(driftMonitors).set(before).where(eq(driftMonitors.id, monitor.id));
    else await ctx.db.delete(driftMonitors).where(eq(driftMonitors.id, monitor.id));
    ctx.log.warn({ err: error, monitorId: monitor.id }, 'drift schedule refused');
    throw new InputError(
      `schedule "${monitor.schedule}" is not a valid cron expression.`,
      'schedule',
    );
  }
}

export async function updateMonitor(
  ctx: AuthedContext,
  monitorId: string,
  input: MonitorInput,
): Promise<DriftMonitor> {
  validate(input);
  const monitor = await findMonitor(ctx, monitorId);
  if (input.retrainOnDrift && !monitor.modelId)
    throw new InputError('Only a model monitor can retrain on drift.', 'retrainOnDrift');
  const referenceVersionId = input.referenceVersionId ?? monitor.referenceVersionId;
  if (input.columns !== undefined || input.referenceVersionId)
    await checkColumns(
      ctx,
      monitor.datasetId,
      referenceVersionId,
      input.columns ?? monitor.columns,
    );
  const [updated] = await ctx.db
    .update(driftMonitors)
    .set({
      ...(input.name ? { name: input.name.trim() } : {}),
      referenceVersionId,
      ...(input.columns !== undefined ? { columns: input.columns } : {}),
      ...(input.driftShare != null ? { driftShare: input.driftShare } : {}),
      ...(input.checkOnNewVersion != null ? { checkOnNewVersion: input.checkOnNewVersion } : {}),
      ...(input.schedule !== undefined ? { schedule: input.schedule?.trim() || null } : {}),
      ...(input.retrainOnDrift != null ? { retrainOnDrift: input.retrainOnDrift } : {}),
      ...(input.promotionAlias != null ? { promotionAlias: input.promotionAlias } : {}),
      ...(input.promotionMargin != null ? { promotionMargin: input.promotionMargin } : {}),
      updatedAt: new Date(),
    })
    .where(eq(driftMonitors.id, monitor.id))
    .returning();
  if (updated!.schedule !== monitor.schedule) await scheduleOrUndo(ctx, updated!, monitor);
  return updated!;
}

export async function deleteMonitor(ctx: AuthedContext, monitorId: string): Promise<string> {
  const monitor = await findMonitor(ctx, monitorId);
  await ctx.db.delete(driftMonitors).where(eq(driftMonitors.id, monitor.id));
  if (monitor.schedule) await ctx.jobs.unschedule(DRIFT_SCHEDULE_JOB, monitor.id);
  return monitor.id;
}

/** Queues a check of the monitor against `currentVersionId` (default: the dataset's latest). */
export async function queueCheck(
  ctx: AuthedContext,
  monitorId: string,
  currentVersionId: string | null,
  send: (reportId: string) => Promise<unknown>,
): Promise<DriftReportRow> {
  const monitor = await findMonitor(ctx, monitorId);
  const gate = await openGate(ctx, {
    datasetId: monitor.datasetId,
    versionId: currentVersionId,
  });
  return queueReport(ctx, monitor, gate.version, send);
}

async function queueReport(
  ctx: Pick<AuthedContext, 'db'>,
  monitor: DriftMonitor,
  current: DatasetVersion,
  send: (reportId: string) => Promise<unknown>,
): Promise<DriftReportRow> {
  const [report] = await ctx.db
    .insert(driftReports)
    .values({
      orgId: monitor.orgId,
      monitorId: monitor.id,
      referenceVersionId: monitor.referenceVersionId,
      currentVersionId: current.id,
    })
    .returning();
  await send(report!.id);
  return report!;
}

/** A scheduled occurrence: a check against the dataset's latest version; null when the monitor
 * is gone (its schedule outlived it). */
export async function queueScheduledCheck(
  ctx: Pick<AuthedContext, 'db'>,
  monitorId: string,
  send: (reportId: string) => Promise<unknown>,
): Promise<DriftReportRow | null> {
  const [monitor] = await ctx.db
    .select()
    .from(driftMonitors)
    .where(eq(driftMonitors.id, monitorId));
  if (!monitor) return null;
  const [latest] = await ctx.db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.datasetId, monitor.datasetId))
    .orderBy(desc(datasetVersions.number))
    .limit(1);
  return latest ? queueReport(ctx, monitor, latest, send) : null;
}

/** Queues a check for every monitor of the dataset that asks for one on each new version. */
export async function queueChecksOnNewVersion(
  ctx: Pick<AuthedContext, 'db'>,
  version: DatasetVersion,
  send: (reportId: string) => Promise<unknown>,
): Promise<number> {
  const monitors = await ctx.db
    .select()
    .from(driftMonitors)
    .where(
      and(
        eq(driftMonitors.datasetId, version.datasetId),
        eq(driftMonitors.checkOnNewVersion, true),
      ),
    );
  for (const monitor of monitors) await queueReport(ctx, monitor, version, send);
  return monitors.length;
}

export async function findReport(ctx: AuthedContext, reportId: string): Promise<DriftReportRow> {
  const [report] = await ctx.db
    .select()
    .from(driftReports)
    .where(and(eq(driftReports.id, reportId), eq(driftReports.orgId, ctx.viewer.orgId)));
  if (!report) throw new NotFoundError('DriftReport');
  await findMonitor(ctx, report.monitorId);
  return report;
}

export async function listReports(
  ctx: AuthedContext,
  monitorId: string,
): Promise<DriftReportRow[]> {
  const monitor = await findMonitor(ctx, monitorId);
  return ctx.db
    .select()
    .from(driftReports)
    .where(eq(driftReports.monitorId, monitor.id))
    .orderBy(desc(driftReports.queuedAt))
    .limit(200);
}

export async function listAlerts(
  ctx: AuthedContext,
  filter: { modelId?: string | null; datasetId?: string | null; open?: boolean | null },
): Promise<DriftAlert[]> {
  const monitors = await listMonitors(ctx, filter);
  if (monitors.length === 0) return [];
  const conditions = [
    inArray(
      driftAlerts.monitorId,
      monitors.map((m) => m.id),
    ),
  ];
  if (filter.open) conditions.push(isNull(driftAlerts.acknowledgedAt));
  return ctx.db
    .select()
    .from(driftAlerts)
    .where(and(...conditions))
    .orderBy(desc(driftAlerts.createdAt))
    .limit(500);
}

export async function findAlert(ctx: AuthedContext, alertId: string): Promise<DriftAlert> {
  const [alert] = await ctx.db
    .select()
    .from(driftAlerts)
    .where(and(eq(driftAlerts.id, alertId), eq(driftAlerts.orgId, ctx.viewer.orgId)));
  if (!alert) throw new NotFoundError('DriftAlert');
  await findMonitor(ctx, alert.monitorId);
  return alert;
}

/** Acknowledges an alert (once) and records who did in the audit log. */
export async function acknowledgeAlert(ctx: AuthedContext, alertId: string): Promise<DriftAlert> {
  const alert = await findAlert(ctx, alertId);
  if (alert.acknowledgedAt) return alert;
  const monitor = await findMonitor(ctx, alert.monitorId);
  const [report] = await ctx.db
    .select({ versionId: driftReports.currentVersionId })
    .from(driftReports)
    .where(eq(driftReports.id, alert.reportId));
  const [updated] = await ctx.db
    .update(driftAlerts)
    .set({ acknowledgedAt: new Date(), acknowledgedBy: ctx.viewer.userId })
    .where(and(eq(driftAlerts.id, alert.id), isNull(driftAlerts.acknowledgedAt)))
    .returning();
  await recordAudit(ctx, {
    action: 'ACKNOWLEDGE_DRIFT_ALERT',
    datasetId: monitor.datasetId,
    versionId: report!.versionId,
    columnsRead: [],
    columnsMasked: [],
    filter: { alertId: alert.id },
    rowCount: null,
  });
  return updated ?? alert;
}

function severityOf(result: DriftResult, driftShare: number): AlertSeverity {
  if (result.drifted) return result.currentRows >= 1000 || result.share >= 0.75 ? 'HIGH' : 'MEDIUM';
  return result.share >= driftShare / 2 ? 'MEDIUM' : 'LOW';
}

/**
 * Stores a finished check and, where columns drift that no open alert of the monitor already
 * reports (or whose verdict changed since), one new alert — in one transaction. Returns the
 * alert's event, to publish after the commit.
 */
export async function recordResult(
  ctx: Pick<AuthedContext, 'db'>,
  monitor: DriftMonitor,
  reportId: string,
  result: DriftResult,
): Promise<DriftAlertEvent | null> {
  return ctx.db.transaction(async (tx) => {
    const [previous] = await tx
      .select({ columns: driftReports.columns })
      .from(driftReports)
      .where(and(eq(driftReports.monitorId, monitor.id), eq(driftReports.status, 'SUCCEEDED')))
      .orderBy(desc(driftReports.finishedAt))
      .limit(1);
    await driftReportRuns.finish(tx, reportId, 'SUCCEEDED', {
      drifted: result.drifted,
      share: result.share,
      columns: result.columns,
    });
    const drifted = result.columns.filter((c) => c.drifted).map((c) => c.column);
    if (drifted.length === 0) return null;
    const before = new Set(
      ((previous?.columns ?? []) as ColumnDrift[]).filter((c) => c.drifted).map((c) => c.column),
    );
    const open = await tx
      .select({ columns: driftAlerts.columns })
      .from(driftAlerts)
      .where(and(eq(driftAlerts.monitorId, monitor.id), isNull(driftAlerts.acknowledgedAt)));
    const alerted = new Set(open.flatMap((a) => a.columns));
    // A column already in an open alert, drifting on the last check too, is the same news.
    const fresh = drifted.filter((c) => !(alerted.has(c) && before.has(c)));
    if (fresh.length === 0) return null;
    const severity = severityOf(result, monitor.driftShare);
    const message = `${fresh.length} of ${result.columns.length} columns drifted (${fresh.join(', ')}); drift share ${result.share.toFixed(2)}${result.drifted ? ': dataset drift' : ''}.`;
    const [alert] = await tx
      .insert(driftAlerts)
      .values({
        orgId: monitor.orgId,
        monitorId: monitor.id,
        reportId,
        severity,
        columns: fresh,
        message,
      })
      .returning();
    return {
      alertId: alert!.id,
      orgId: monitor.orgId,
      monitorId: monitor.id,
      modelId: monitor.modelId,
      datasetId: monitor.datasetId,
      severity,
      columns: fresh,
      message,
      at: alert!.createdAt.toISOString(),
    };
  });
}

export async function monitorOf(
  ctx: Pick<AuthedContext, 'db'>,
  monitorId: string,
): Promise<DriftMonitor> {
  const [monitor] = await ctx.db
    .select()
    .from(driftMonitors)
    .where(eq(driftMonitors.id, monitorId));
  if (!monitor) throw new NotFoundError('DriftMonitor');
  return monitor;
}
