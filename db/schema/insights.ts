import { index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { apiKeys, memberships } from './auth';
import { createdAt, id, runState } from './common';
import { datasets, datasetVersions } from './datasets';

/**
 * Insights of an immutable version, computed once per visibility: the fingerprint covers every
 * column rule and the row filter as compiled for the viewer, so two viewers share an entry only
 * when they see exactly the same values.
 */
export const insightsCache = pgTable(
  'insights_cache',
  {
    versionId: uuid('version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    payload: jsonb('payload').$type<unknown>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.versionId, t.fingerprint] })],
);
export type InsightsCacheRow = typeof insightsCache.$inferSelect;

/** A computation of insights for a large version, run on the job runtime as its requester. */
export const insightsRuns = pgTable(
  'insights_runs',
  {
    id: id(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    versionId: uuid('version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    membershipId: uuid('membership_id').references(() => memberships.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    ...runState(),
  },
  (t) => [
    index('insights_runs_dataset_idx').on(t.datasetId),
    uniqueIndex('insights_runs_version_fingerprint_idx').on(t.versionId, t.fingerprint),
    index('insights_runs_membership_idx').on(t.membershipId),
    index('insights_runs_api_key_idx').on(t.apiKeyId),
  ],
);
export type InsightsRun = typeof insightsRuns.$inferSelect;
