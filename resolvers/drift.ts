/** Query.driftMonitors · Query.driftReports · Query.driftAlerts · Mutation.createDriftMonitor · Mutation.updateDriftMonitor · Mutation.deleteDriftMonitor · Mutation.runDriftCheck · Mutation.acknowledgeDriftAlert · Subscription.driftAlerts */
import { encodeGlobalID } from '@pothos/plugin-relay';
import type {
  AlertSeverity,
  DriftAlert,
  DriftMonitor,
  DriftReportRow,
  DriftTestName,
} from '../db/schema/drift';
import { builder } from '../schema/builder';
import { openGate } from '../src/access/gate';
import type { AuthedContext } from '../src/context';
import type { ColumnDrift, DriftBins } from '../src/drift/check';
import type { DriftAlertEvent } from '../src/drift/events';
import { retrainRunsOf } from '../src/drift/retrain';
import * as drift from '../src/drift/service';
import { InputError, NotFoundError } from '../src/errors';
import { openStream } from '../src/events/stream';
import { findModel } from '../src/models/registry';
import { UserRef } from './auth';
import { DatasetRef, DatasetVersionRef } from './datasets';
import { ModelRef, RunStatusEnum, TrainingRunRef } from './models';

const errors = {
  types: [InputError, NotFoundError],
  directResult: true as const,
};

const DriftTestEnum = builder.enumType('DriftTest', {
  description: 'A drift statistic; the README lists each formula and default threshold.',
  values: {
    ks: { description: 'Two-sample Kolmogorov–Smirnov; drift when p ≤ threshold (0.05).' },
    chisquare: { description: 'Chi-square goodness of fit; drift when p < threshold (0.05).' },
    z: { description: 'Two-proportion z-test; drift when p < threshold (0.05).' },
    wasserstein: {
      description:
        'Wasserstein-1 / reference std (floored at 0.001); drift when ≥ threshold (0.1).',
    },
    jensenshannon: {
      description: 'Jensen–Shannon distance (natural log); drift when ≥ threshold (0.1).',
    },
    psi: { description: 'Population stability index; drift when ≥ threshold (0.1).' },
  } as const satisfies Record<DriftTestName, { description: string }>,
});

const SeverityEnum = builder.enumType('DriftAlertSeverity', {
  description: 'How serious a drift alert is.',
  values: {
    LOW: { description: 'Some columns drifted, few of them.' },
    MEDIUM: { description: 'Dataset-level drift on a small sample, or many columns drifting.' },
    HIGH: {
      description: 'Dataset-level drift on at least 1,000 rows or three quarters of the columns.',
    },
  } as const satisfies Record<AlertSeverity, { description: string }>,
});

export const DriftMonitorRef = builder.loadableNodeRef<DriftMonitor>('DriftMonitor', {
  id: { resolve: (m) => m.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer
      ? (
          await Promise.all(
            ids.map((id) => drift.findMonitor(ctx as AuthedContext, id).catch(() => null)),
          )
        ).filter((m): m is DriftMonitor => m !== null)
      : [],
  sort: (m) => m.id,
});

export const DriftReportRef = builder.loadableNodeRef<DriftReportRow>('DriftReport', {
  id: { resolve: (r) => r.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer
      ? (
          await Promise.all(
            ids.map((id) => drift.findReport(ctx as AuthedContext, id).catch(() => null)),
          )
        ).filter((r): r is DriftReportRow => r !== null)
      : [],
  sort: (r) => r.id,
});

export const DriftAlertRef = builder.objectRef<DriftAlert>('DriftAlert');

const WatchedColumnRef = builder.objectRef<{
  column: string;
  test?: DriftTestName | null;
  threshold?: number | null;
}>('DriftWatchedColumn');
WatchedColumnRef.implement({
  description: 'A watched column and the test and threshold that override the defaults.',
  fields: (t) => ({
    column: t.exposeString('column', { description: 'Column name.' }),
    test: t.field({
      type: DriftTestEnum,
      nullable: true,
      description: 'Test (null: the default).',
      resolve: (c) => c.test ?? null,
    }),
    threshold: t.float({
      nullable: true,
      description: 'Threshold (null: the test’s default).',
      resolve: (c) => c.threshold ?? null,
    }),
  }),
});

DriftMonitorRef.implement({
  description:
    'Watches a dataset (or the data of a model) for drift against a reference version. Checks read the data through the access gate as the monitor’s owner.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name.' }),
    model: t.field({
      type: ModelRef,
      nullable: true,
      description: 'The model monitored, if any.',
      resolve: (m) => m.modelId,
    }),
    dataset: t.field({
      type: DatasetRef,
      description: 'The dataset watched.',
      resolve: (m) => m.datasetId,
    }),
    referenceVersion: t.field({
      type: DatasetVersionRef,
      description: 'The reference version.',
      resolve: (m) => m.referenceVersionId,
    }),
    columns: t.field({
      type: [WatchedColumnRef],
      nullable: true,
      description: 'Watched columns; null: every column the owner reads in clear.',
      resolve: (m) => m.columns,
    }),
    driftShare: t.exposeFloat('driftShare', {
      description: 'Share of drifted columns that makes dataset drift.',
    }),
    checkOnNewVersion: t.exposeBoolean('checkOnNewVersion', {
      description: 'Checks every new version of the dataset.',
    }),
    schedule: t.exposeString('schedule', {
      nullable: true,
      description: 'Cron expression (UTC) of scheduled checks, if any.',
    }),
    retrainOnDrift: t.exposeBoolean('retrainOnDrift', {
      description:
        'A dataset-drift verdict queues a training run of the model, with its last configuration, on the drifted version; the new version takes the alias `challenger`.',
    }),
    promotionAlias: t.exposeString('promotionAlias', {
      description: 'The alias the model serves under, which a retrained version may take over.',
    }),
    promotionMargin: t.exposeFloat('promotionMargin', {
      description:
        'How much a retrained version’s held-out metric (accuracy, or r2) must beat the served version’s on the same rows for automatic promotion; below it a person decides.',
    }),
    createdAt: t.field({ type: 'DateTime', description: 'Created.', resolve: (m) => m.createdAt }),
  }),
});

const BinsRef = builder.objectRef<DriftBins>('DriftBins');
BinsRef.implement({
  description: 'Both distributions on shared bins, ready to chart.',
  fields: (t) => ({
    edges: t.floatList({
      nullable: true,
      description: 'Numeric columns: bin edges (one more than the counts).',
      resolve: (b) => b.edges,
    }),
    labels: t.stringList({
      nullable: true,
      description: 'Categorical columns: one label per bin.',
      resolve: (b) => b.labels,
    }),
    reference: t.floatList({ description: 'Reference rows per bin.', resolve: (b) => b.reference }),
    current: t.floatList({ description: 'Current rows per bin.', resolve: (b) => b.current }),
  }),
});

type ShownColumn = ColumnDrift & { shown: boolean };

const ColumnDriftRef = builder.objectRef<ShownColumn>('ColumnDrift');
ColumnDriftRef.implement({
  description: 'The verdict on one column.',
  fields: (t) => ({
    column: t.exposeString('column', { description: 'Column name.' }),
    kind: t.exposeString('kind', { description: 'numeric or categorical.' }),
    test: t.field({ type: DriftTestEnum, description: 'Test used.', resolve: (c) => c.test }),
    statistic: t.float({
      description:
        'The test statistic or distance (may be Infinity as a string in JSON: null here).',
      nullable: true,
      resolve: (c) => (Number.isFinite(c.statistic) ? c.statistic : null),
    }),
    pValue: t.float({
      nullable: true,
      description: 'p-value, where the test has one.',
      resolve: (c) => c.pValue?.value ?? null,
    }),
    pValueIsBound: t.boolean({
      description: 'The p-value underflowed: the true value is at most `pValue`.',
      resolve: (c) => c.pValue?.bound ?? false,
    }),
    method: t.string({
      nullable: true,
      description: 'exact or asymptotic (KS).',
      resolve: (c) => c.method,
    }),
    threshold: t.exposeFloat('threshold', { description: 'Threshold applied.' }),
    drifted: t.exposeBoolean('drifted', { description: 'Whether the column drifted.' }),
    referenceRows: t.exposeInt('referenceRows', { description: 'Reference rows with a value.' }),
    currentRows: t.exposeInt('currentRows', { description: 'Current rows with a value.' }),
    bins: t.field({
      type: BinsRef,
      nullable: true,
      description: 'Both distributions; null where you do not read the column in clear.',
      resolve: (c) => (c.shown ? c.bins : null),
    }),
  }),
});

DriftReportRef.implement({
  description: 'One check of a monitor: per column the test and verdict, and the overall verdict.',
  fields: (t) => ({
    monitor: t.field({
      type: DriftMonitorRef,
      description: 'Monitor.',
      resolve: (r) => r.monitorId,
    }),
    status: t.field({
      type: RunStatusEnum,
      description: 'Where the check stands.',
      resolve: (r) => r.status,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    referenceVersion: t.field({
      type: DatasetVersionRef,
      description: 'Reference version.',
      resolve: (r) => r.referenceVersionId,
    }),
    currentVersion: t.field({
      type: DatasetVersionRef,
      description: 'Current version.',
      resolve: (r) => r.currentVersionId,
    }),
    drifted: t.exposeBoolean('drifted', { nullable: true, description: 'Dataset-level drift.' }),
    share: t.exposeFloat('share', { nullable: true, description: 'Share of drifted columns.' }),
    columns: t.field({
      type: [ColumnDriftRef],
      // A report covers a handful of columns; its bins are plain numbers.
      complexity: { field: 1, multiplier: 3 },
      description: 'Per column verdicts; histograms only of columns you read in clear.',
      resolve: async (r, _args, ctx) => {
        const columns = (r.columns ?? []) as ColumnDrift[];
        if (columns.length === 0) return [];
        const [monitor] = await Promise.all([drift.findMonitor(ctx as AuthedContext, r.monitorId)]);
        const gate = await openGate(ctx as AuthedContext, {
          datasetId: monitor.datasetId,
          versionId: r.currentVersionId,
        });
        const clear = new Set(
          gate.access.columns.filter((c) => c.rule === 'CLEAR').map((c) => c.name),
        );
        return columns.map((c) => ({
          ...c,
          shown: gate.access.mode === 'ROWS' && clear.has(c.column),
        }));
      },
    }),
    retrainRun: t.field({
      type: TrainingRunRef,
      nullable: true,
      description: 'The training run this check queued (a monitor that retrains on drift).',
      resolve: async (r, _args, ctx) => {
        const [run] = await retrainRunsOf(ctx as AuthedContext, [r.id]);
        return run?.id ?? null;
      },
    }),
    queuedAt: t.field({ type: 'DateTime', description: 'Queued.', resolve: (r) => r.queuedAt }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Finished.',
      resolve: (r) => r.finishedAt,
    }),
  }),
});

DriftAlertRef.implement({
  description: 'A drift verdict someone should look at; open until acknowledged.',
  fields: (t) => ({
    id: t.id({ description: 'Global id.', resolve: (a) => encodeGlobalID('DriftAlert', a.id) }),
    monitor: t.field({
      type: DriftMonitorRef,
      description: 'Monitor.',
      resolve: (a) => a.monitorId,
    }),
    report: t.field({
      type: DriftReportRef,
      description: 'The check that raised it.',
      resolve: (a) => a.reportId,
    }),
    severity: t.field({ type: SeverityEnum, description: 'Severity.', resolve: (a) => a.severity }),
    columns: t.exposeStringList('columns', { description: 'Columns newly drifting.' }),
    message: t.exposeString('message', { description: 'What happened.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When.', resolve: (a) => a.createdAt }),
    acknowledgedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When acknowledged.',
      resolve: (a) => a.acknowledgedAt,
    }),
    acknowledgedBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who acknowledged it.',
      resolve: (a) => a.acknowledgedBy,
    }),
  }),
});

const WatchedColumnInput = builder.inputType('DriftWatchedColumnInput', {
  description: 'A column to watch, optionally with its own test and threshold.',
  fields: (t) => ({
    column: t.string({ required: true, description: 'Column name.' }),
    test: t.field({ type: DriftTestEnum, description: 'Test (default: the recipe’s choice).' }),
    threshold: t.float({ description: 'Threshold (default: the test’s).' }),
  }),
});

builder.objectField(TrainingRunRef, 'driftReport', (t) =>
  t.field({
    type: DriftReportRef,
    nullable: true,
    description: 'The drift check that queued this run, when a monitor retrains on drift.',
    resolve: (r) => r.trigger?.reportId ?? null,
  }),
);

const MonitorInput = builder.inputType('DriftMonitorInput', {
  description: 'A drift monitor: a model or a dataset, its reference and its columns.',
  fields: (t) => ({
    name: t.string({ description: 'Name (default derived from the dataset).' }),
    modelId: t.globalID({
      for: [ModelRef],
      description: 'Monitor a model: its dataset, reference = its training data.',
    }),
    datasetId: t.globalID({ for: [DatasetRef], description: 'Monitor a dataset.' }),
    referenceVersionId: t.globalID({
      for: [DatasetVersionRef],
      description: 'Reference version (default: the model’s training data, else the latest).',
    }),
    columns: t.field({
      type: [WatchedColumnInput],
      description: 'Columns (default: every column you read in clear).',
    }),
    driftShare: t.float({
      description: 'Share of drifted columns that makes dataset drift (default 0.5).',
    }),
    checkOnNewVersion: t.boolean({ description: 'Check every new version of the dataset.' }),
    schedule: t.string({
      description:
        'Cron expression (UTC, five fields) for checks of the latest version; null removes it.',
    }),
    retrainOnDrift: t.boolean({
      description: 'Model monitors: retrain on a dataset-drift verdict (default false).',
    }),
    promotionAlias: t.string({
      description: 'Alias a retrained version may take over (default "production").',
    }),
    promotionMargin: t.float({
      description: 'Held-out metric gain needed for automatic promotion, 0–1 (default 0.01).',
    }),
  }),
});

function monitorInput(input: typeof MonitorInput.$inferInput) {
  return {
    name: input.name,
    modelId: input.modelId?.id,
    datasetId: input.datasetId?.id,
    referenceVersionId: input.referenceVersionId?.id,
    columns:
      input.columns === undefined
        ? undefined
        : (input.columns?.map((c) => ({
            column: c.column,
            test: c.test ?? null,
            threshold: c.threshold ?? null,
          })) ?? null),
    driftShare: input.driftShare,
    checkOnNewVersion: input.checkOnNewVersion,
    schedule: input.schedule,
    retrainOnDrift: input.retrainOnDrift,
    promotionAlias: input.promotionAlias,
    promotionMargin: input.promotionMargin,
  };
}

builder.queryFields((t) => ({
  driftMonitors: t.withAuth({ authenticated: true }).field({
    type: [DriftMonitorRef],
    description: 'Drift monitors of datasets (and models) you can see.',
    args: {
      modelId: t.arg.globalID({ for: [ModelRef] }),
      datasetId: t.arg.globalID({ for: [DatasetRef] }),
    },
    resolve: (_root, args, ctx) =>
      drift.listMonitors(ctx, { modelId: args.modelId?.id, datasetId: args.datasetId?.id }),
  }),
  driftReports: t.withAuth({ authenticated: true }).field({
    type: [DriftReportRef],
    description: 'Checks of a monitor, newest first.',
    complexity: { field: 1, multiplier: 3 },
    errors: { types: errors.types },
    args: { monitorId: t.arg.globalID({ for: [DriftMonitorRef], required: true }) },
    resolve: (_root, args, ctx) => drift.listReports(ctx, args.monitorId.id),
  }),
  driftAlerts: t.withAuth({ authenticated: true }).field({
    type: [DriftAlertRef],
    description: 'Drift alerts of monitors you can see, newest first.',
    args: {
      modelId: t.arg.globalID({ for: [ModelRef] }),
      datasetId: t.arg.globalID({ for: [DatasetRef] }),
      open: t.arg.boolean({ description: 'Only those not acknowledged.' }),
    },
    resolve: (_root, args, ctx) =>
      drift.listAlerts(ctx, {
        modelId: args.modelId?.id,
        datasetId: args.datasetId?.id,
        open: args.open,
      }),
  }),
}));

builder.mutationFields((t) => ({
  createDriftMonitor: t.withAuth({ role: 'ANALYST' }).field({
    type: DriftMonitorRef,
    description: 'Creates a drift monitor (analysts and up); its checks read as you.',
    errors,
    args: { input: t.arg({ type: MonitorInput, required: true }) },
    resolve: (_root, { input }, ctx) => drift.createMonitor(ctx, monitorInput(input)),
  }),
  updateDriftMonitor: t.withAuth({ role: 'ANALYST' }).field({
    type: DriftMonitorRef,
    description: 'Changes a monitor: reference, columns, drift share, checks on new versions.',
    errors,
    args: {
      id: t.arg.globalID({ for: [DriftMonitorRef], required: true }),
      input: t.arg({ type: MonitorInput, required: true }),
    },
    resolve: (_root, { id, input }, ctx) => drift.updateMonitor(ctx, id.id, monitorInput(input)),
  }),
  deleteDriftMonitor: t.withAuth({ role: 'ANALYST' }).field({
    type: 'ID',
    description: 'Deletes a monitor with its reports and alerts; returns its id.',
    errors: { types: errors.types },
    args: { id: t.arg.globalID({ for: [DriftMonitorRef], required: true }) },
    resolve: async (_root, { id }, ctx) =>
      encodeGlobalID('DriftMonitor', await drift.deleteMonitor(ctx, id.id)),
  }),
  runDriftCheck: t.withAuth({ role: 'ANALYST' }).field({
    type: DriftReportRef,
    description:
      'Queues a check against a version (default: the latest); the report fills in when a worker has run it.',
    errors,
    args: {
      monitorId: t.arg.globalID({ for: [DriftMonitorRef], required: true }),
      currentVersionId: t.arg.globalID({ for: [DatasetVersionRef] }),
    },
    resolve: (_root, args, ctx) =>
      drift.queueCheck(ctx, args.monitorId.id, args.currentVersionId?.id ?? null, (reportId) =>
        ctx.jobs.send(drift.DRIFT_CHECK_JOB, { reportId }),
      ),
  }),
  acknowledgeDriftAlert: t.withAuth({ role: 'ANALYST' }).field({
    type: DriftAlertRef,
    description: 'Acknowledges an alert (recorded in the audit log).',
    errors,
    args: { id: t.arg.id({ required: true, description: 'The alert’s id.' }) },
    resolve: (_root, { id }, ctx) => drift.acknowledgeAlert(ctx, alertIdOf(String(id))),
  }),
}));

function alertIdOf(id: string): string {
  try {
    const decoded = Buffer.from(id, 'base64').toString('utf8');
    const [type, raw] = decoded.split(':');
    if (type === 'DriftAlert' && raw && /^[0-9a-f-]{36}$/.test(raw)) return raw;
  } catch {}
  throw new InputError('Not a drift alert id.', 'id');
}

builder.subscriptionFields((t) => ({
  driftAlerts: t.withAuth({ authenticated: true }).field({
    type: DriftAlertRef,
    description:
      'New drift alerts of monitors you may see (of this model or dataset when given); each is checked against your access as it is when it comes.',
    args: {
      modelId: t.arg.globalID({ for: [ModelRef] }),
      datasetId: t.arg.globalID({ for: [DatasetRef] }),
    },
    subscribe: async (_root, args, ctx) => {
      if (args.modelId) await findModel(ctx, args.modelId.id);
      if (args.datasetId) await openGate(ctx, { datasetId: args.datasetId.id });
      return openStream<DriftAlertEvent>(ctx, {
        source: ctx.events.subscribe(`driftAlerts:${ctx.viewer.orgId}`),
        accept: (e) =>
          e.orgId === ctx.viewer.orgId &&
          (!args.modelId || e.modelId === args.modelId.id) &&
          (!args.datasetId || e.datasetId === args.datasetId.id),
        access: args.datasetId
          ? {
              resource: `dataset:${args.datasetId.id}`,
              check: (c) => openGate(c, { datasetId: args.datasetId!.id }),
            }
          : args.modelId
            ? { resource: `model:${args.modelId.id}`, check: (c) => findModel(c, args.modelId!.id) }
            : undefined,
        // The monitor (its dataset, and its model if any) as the subscriber may see it now.
        eventAccess: (e) => ({
          resource: `driftMonitor:${e.monitorId}`,
          check: (c) => drift.findMonitor(c, e.monitorId),
        }),
      });
    },
    resolve: (event, _args, ctx) => drift.findAlert(ctx as AuthedContext, event.alertId),
  }),
}));
