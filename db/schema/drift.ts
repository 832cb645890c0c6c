import {
  boolean,
  doublePrecision,
  index,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { apiKeys, memberships, organizations, users } from './auth';
import { createdAt, id, runState, updatedAt } from './common';
import { datasets, datasetVersions } from './datasets';
import { models } from './models';

export const DRIFT_TESTS = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'] as const;
export type DriftTestName = (typeof DRIFT_TESTS)[number];

export const ALERT_SEVERITIES = ['LOW', 'MEDIUM', 'HIGH'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const alertSeverityEnum = pgEnum('drift_alert_severity', ALERT_SEVERITIES);

/** A column watched by a monitor, with the test and threshold that override the defaults. */
export interface WatchedColumn {
  column: string;
  test?: DriftTestName | null;
  threshold?: number | null;
}

/** A drift monitor: a reference version of a dataset (a model's training data, or a chosen
 * version), the columns it watches and when it checks. Checks read as its owner. */
export const driftMonitors = pgTable(
  'drift_monitors',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    modelId: uuid('model_id').references(() => models.id, { onDelete: 'cascade' }),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    referenceVersionId: uuid('reference_version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    /** Null: every column the owner reads in clear. */
    columns: jsonb('columns').$type<WatchedColumn[]>(),
    driftShare: doublePrecision('drift_share').notNull().default(0.5),
    checkOnNewVersion: boolean('check_on_new_version').notNull().default(false),
    schedule: text('schedule'),
    /** Model monitors: a dataset-drift verdict queues a retraining run on the current version. */
    retrainOnDrift: boolean('retrain_on_drift').notNull().default(false),
    /** The alias the model serves under, which a retrained version may take over. */
    promotionAlias: text('promotion_alias').notNull().default('production'),
    /** How much the retrained version's held-out metric must beat the served one's by. */
    promotionMargin: doublePrecision('promotion_margin').notNull().default(0.01),
    membershipId: uuid('membership_id').references(() => memberships.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('drift_monitors_org_idx').on(t.orgId),
    index('drift_monitors_model_idx').on(t.modelId),
    index('drift_monitors_dataset_idx').on(t.datasetId),
    index('drift_monitors_reference_idx').on(t.referenceVersionId),
    index('drift_monitors_membership_idx').on(t.membershipId),
    index('drift_monitors_api_key_idx').on(t.apiKeyId),
  ],
);
export type DriftMonitor = typeof driftMonitors.$inferSelect;
export type NewDriftMonitor = typeof driftMonitors.$inferInsert;

/** One check of a monitor: a run on the job runtime whose result is the report. */
export const driftReports = pgTable(
  'drift_reports',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    monitorId: uuid('monitor_id')
      .notNull()
      .references(() => driftMonitors.id, { onDelete: 'cascade' }),
    referenceVersionId: uuid('reference_version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    currentVersionId: uuid('current_version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    ...runState(),
    drifted: boolean('drifted'),
    share: doublePrecision('share'),
    /** Per column: the test result and, on shared bins, both distributions. */
    columns: jsonb('columns').$type<unknown[]>(),
  },
  (t) => [
    index('drift_reports_org_idx').on(t.orgId),
    index('drift_reports_monitor_idx').on(t.monitorId),
    index('drift_reports_reference_idx').on(t.referenceVersionId),
    index('drift_reports_current_idx').on(t.currentVersionId),
  ],
);
export type DriftReportRow = typeof driftReports.$inferSelect;

/** A drift verdict someone should look at, open until acknowledged. */
export const driftAlerts = pgTable(
  'drift_alerts',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    monitorId: uuid('monitor_id')
      .notNull()
      .references(() => driftMonitors.id, { onDelete: 'cascade' }),
    reportId: uuid('report_id')
      .notNull()
      .references(() => driftReports.id, { onDelete: 'cascade' }),
    severity: alertSeverityEnum('severity').notNull(),
    columns: text('columns').array().notNull(),
    message: text('message').notNull(),
    createdAt: createdAt(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, mode: 'date' }),
    acknowledgedBy: uuid('acknowledged_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('drift_alerts_org_idx').on(t.orgId),
    index('drift_alerts_monitor_idx').on(t.monitorId),
    index('drift_alerts_report_idx').on(t.reportId),
    index('drift_alerts_acknowledged_by_idx').on(t.acknowledgedBy),
  ],
);
export type DriftAlert = typeof driftAlerts.$inferSelect;

/** Reference profiles, computed once per (version, reader's policy, request) and reused: versions
 * never change, so neither do their profiles. */
export const driftProfiles = pgTable(
  'drift_profiles',
  {
    versionId: uuid('version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    profile: jsonb('profile').$type<unknown>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.versionId, t.key] })],
);
