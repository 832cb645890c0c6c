import {
  bigserial,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apiKeys, memberships, organizations, users } from './auth';
import { createdAt, id, runState } from './common';
import { datasets, datasetVersions } from './datasets';

export const taskEnum = pgEnum('model_task', ['CLASSIFICATION', 'REGRESSION']);

/** A named prediction target over a dataset; its versions come from successful runs. */
export const models = pgTable(
  'models',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    task: taskEnum('task').notNull(),
    target: text('target').notNull(),
    features: text('features').array().notNull(),
    /** STRING features read as free text (hashed words and n-grams) rather than categories. */
    textFeatures: text('text_features').array().notNull().default([]),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('models_org_name_idx').on(t.orgId, t.name),
    index('models_dataset_idx').on(t.datasetId),
    index('models_created_by_idx').on(t.createdBy),
  ],
);
export type Model = typeof models.$inferSelect;

/** A run queued by a drift check: the report and monitor, and where a better version goes. */
export interface RunTrigger {
  kind: 'DRIFT';
  reportId: string;
  monitorId: string;
  promotionAlias: string;
  promotionMargin: number;
}

/** The comparison of a retrained version with the served one on the same held-out rows. */
export interface PromotionOutcome {
  promoted: boolean;
  alias: string;
  /** accuracy (classification) or r2 (regression): higher is better. */
  metric: string;
  challenger: number | null;
  champion: number | null;
  championVersionId: string | null;
  margin: number;
  reason: string;
}

/** One training run: queued, run by a worker, with its per-epoch history and outcome. */
export const trainingRuns = pgTable(
  'training_runs',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    datasetVersionId: uuid('dataset_version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    ...runState(),
    /** Algorithm, hyperparameters, trials, validation split as requested. */
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    seed: integer('seed').notNull(),
    /** Who started it: the run reads its data through the gate as this caller. */
    membershipId: uuid('membership_id').references(() => memberships.id, { onDelete: 'set null' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    algorithm: text('algorithm'),
    backend: text('backend'),
    device: text('device'),
    /** The WebGPU adapter (vendor, architecture, device, description) when backend is webgpu. */
    adapter: jsonb('adapter').$type<{
      vendor: string;
      architecture: string;
      device: string;
      description: string;
    }>(),
    /** Why the backend was chosen (under TF_BACKEND=auto, also why the others were not). */
    backendReason: text('backend_reason'),
    epochsDone: integer('epochs_done').notNull().default(0),
    /** Epochs of the candidate last reported (misleading across candidates: see step/totalSteps). */
    totalEpochs: integer('total_epochs'),
    history: jsonb('history').$type<unknown[]>().notNull().default([]),
    metrics: jsonb('metrics').$type<Record<string, unknown>>(),
    modelVersionId: uuid('model_version_id'),
    /** Why the run was queued when no person asked for it (a drift check). */
    trigger: jsonb('trigger').$type<RunTrigger>(),
    /** What became of a retrained version: promoted, or waiting for a person, and why. */
    promotion: jsonb('promotion').$type<PromotionOutcome>(),
  },
  (t) => [
    index('training_runs_org_idx').on(t.orgId),
    index('training_runs_model_idx').on(t.modelId),
    index('training_runs_dataset_version_idx').on(t.datasetVersionId),
    index('training_runs_status_idx').on(t.status, t.heartbeatAt),
    index('training_runs_membership_idx').on(t.membershipId),
    index('training_runs_api_key_idx').on(t.apiKeyId),
  ],
);
export type TrainingRun = typeof trainingRuns.$inferSelect;

/**
 * One batch prediction: a model version applied to every row of a dataset version the caller may
 * read, written as version 1 (`versionId`, promised when queued) of a new dataset.
 */
export const predictionRuns = pgTable(
  'prediction_runs',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    modelVersionId: uuid('model_version_id')
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    sourceVersionId: uuid('source_version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    /** The dataset receiving the predictions; null once a failed run has removed it. */
    datasetId: uuid('dataset_id').references(() => datasets.id, { onDelete: 'set null' }),
    /** Id of the version to be written, followed by `datasetIngestion(versionId:)`. */
    versionId: uuid('version_id').notNull().unique(),
    /** Who started it: the run reads the rows through the gate as this caller. */
    membershipId: uuid('membership_id').references(() => memberships.id, { onDelete: 'set null' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    ...runState(),
  },
  (t) => [
    index('prediction_runs_org_idx').on(t.orgId),
    index('prediction_runs_model_version_idx').on(t.modelVersionId),
    index('prediction_runs_source_version_idx').on(t.sourceVersionId),
    index('prediction_runs_dataset_idx').on(t.datasetId),
    index('prediction_runs_status_idx').on(t.status, t.heartbeatAt),
    index('prediction_runs_membership_idx').on(t.membershipId),
    index('prediction_runs_api_key_idx').on(t.apiKeyId),
  ],
);
export type PredictionRun = typeof predictionRuns.$inferSelect;

/** A trained model from a successful run: its artifact (pipeline and weights) and metrics. */
export const modelVersions = pgTable(
  'model_versions',
  {
    id: id(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    runId: uuid('run_id').notNull(),
    number: integer('number').notNull(),
    datasetVersionId: uuid('dataset_version_id').references(() => datasetVersions.id, {
      onDelete: 'set null',
    }),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull(),
    artifact: jsonb('artifact').$type<unknown>().notNull(),
    artifactSize: integer('artifact_size').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('model_versions_model_number_idx').on(t.modelId, t.number),
    index('model_versions_dataset_version_idx').on(t.datasetVersionId),
  ],
);
export type ModelVersion = typeof modelVersions.$inferSelect;

/** Which version holds each alias of a model now. */
export const modelAliases = pgTable(
  'model_aliases',
  {
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    versionId: uuid('version_id')
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    updatedAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.modelId, t.alias] }),
    index('model_aliases_version_idx').on(t.versionId),
  ],
);

/** Every change of an alias, so "which version was production on …" has an answer. */
export const modelAliasEvents = pgTable(
  'model_alias_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    /** Null when the alias was removed. */
    versionId: uuid('version_id'),
    changedBy: uuid('changed_by').references(() => users.id, { onDelete: 'set null' }),
    /** Why the alias moved, when a rule moved it (a person's change may say, or not). */
    reason: text('reason'),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('model_alias_events_model_idx').on(t.modelId, t.alias, t.at),
    index('model_alias_events_changed_by_idx').on(t.changedBy),
  ],
);
export type ModelAliasEvent = typeof modelAliasEvents.$inferSelect;
