import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apiKeys, organizations, roleEnum, users } from './auth';
import { createdAt, id, updatedAt } from './common';
import { datasets } from './datasets';

export const principalKindEnum = pgEnum('principal_kind', ['ROLE', 'USER', 'API_KEY']);
export const datasetAccessEnum = pgEnum('dataset_access', ['ROWS', 'AGGREGATE_ONLY']);

/** A column rule as stored in `dataset_policies.column_rules`. */
export interface StoredColumnRule {
  column: string;
  rule: 'HIDE' | 'MASK' | 'HASH' | 'PARTIAL' | 'CLEAR' | 'AGGREGATE_ONLY';
}

/** Declared bounds of a numeric column, as stored in `dataset_policies.column_bounds`. */
export interface StoredColumnBounds {
  column: string;
  lower: number;
  upper: number;
}

/**
 * Who may read which rows and columns of a dataset. One policy per principal and dataset; the
 * most specific one that matches a viewer applies (API key, then user, then role).
 */
export const datasetPolicies = pgTable(
  'dataset_policies',
  {
    id: id(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    principalKind: principalKindEnum('principal_kind').notNull(),
    principalRole: roleEnum('principal_role'),
    principalUserId: uuid('principal_user_id').references(() => users.id, { onDelete: 'cascade' }),
    principalApiKeyId: uuid('principal_api_key_id').references(() => apiKeys.id, {
      onDelete: 'cascade',
    }),
    access: datasetAccessEnum('access').notNull().default('ROWS'),
    /** A filter in the query language; may reference `$viewer.…`. Null: every row. */
    rowFilter: jsonb('row_filter').$type<unknown>(),
    columnRules: jsonb('column_rules').$type<StoredColumnRule[]>().notNull().default([]),
    minGroupSize: integer('min_group_size').notNull().default(5),
    /** Aggregate-only reads are differentially private (noisy, bounded, budgeted). */
    differentialPrivacy: boolean('differential_privacy').notNull().default(false),
    /** ε one query spends. */
    epsilon: doublePrecision('epsilon').notNull().default(1),
    /** δ of the noisy threshold. */
    delta: doublePrecision('delta').notNull().default(1e-5),
    /** ε one credential may spend on the dataset per period. */
    epsilonBudget: doublePrecision('epsilon_budget').notNull().default(10),
    budgetPeriodSeconds: integer('budget_period_seconds').notNull().default(86400),
    /** Values are clamped to these before SUM and AVG; unbounded columns cannot be summed. */
    columnBounds: jsonb('column_bounds').$type<StoredColumnBounds[]>().notNull().default([]),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('dataset_policies_role_idx')
      .on(t.datasetId, t.principalRole)
      .where(sql`principal_kind = 'ROLE'`),
    uniqueIndex('dataset_policies_user_unique_idx')
      .on(t.datasetId, t.principalUserId)
      .where(sql`principal_kind = 'USER'`),
    uniqueIndex('dataset_policies_api_key_unique_idx')
      .on(t.datasetId, t.principalApiKeyId)
      .where(sql`principal_kind = 'API_KEY'`),
    index('dataset_policies_org_idx').on(t.orgId),
    index('dataset_policies_user_idx').on(t.principalUserId),
    index('dataset_policies_api_key_idx').on(t.principalApiKeyId),
    index('dataset_policies_created_by_idx').on(t.createdBy),
  ],
);
export type DatasetPolicy = typeof datasetPolicies.$inferSelect;
export type NewDatasetPolicy = typeof datasetPolicies.$inferInsert;

/**
 * ε spent by one credential (a user or an API key) on one dataset in one budget period. Rows
 * for a period are created by the first query in it; the gate spends with one conditional
 * upsert, so concurrent queries cannot overspend.
 */
export const privacyBudgets = pgTable(
  'privacy_budgets',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    periodStart: timestamp('period_start', { withTimezone: true, mode: 'date' }).notNull(),
    /** Exact decimal, so many small spends add up to the budget exactly. */
    spent: numeric('spent').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('privacy_budgets_credential_period_idx').on(
      t.datasetId,
      sql`coalesce(user_id, api_key_id)`,
      t.periodStart,
    ),
    check('privacy_budgets_one_credential', sql`(user_id is null) <> (api_key_id is null)`),
    index('privacy_budgets_org_idx').on(t.orgId),
    index('privacy_budgets_user_idx').on(t.userId),
    index('privacy_budgets_api_key_idx').on(t.apiKeyId),
  ],
);
export type PrivacyBudget = typeof privacyBudgets.$inferSelect;

/**
 * One gated read of dataset rows. Append-only: no API changes it, and a trigger refuses UPDATE
 * and DELETE. No foreign keys, so the record outlives what it names.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    action: text('action').notNull(),
    viewerKind: text('viewer_kind').notNull(),
    userId: uuid('user_id'),
    apiKeyId: uuid('api_key_id'),
    datasetId: uuid('dataset_id'),
    versionId: uuid('version_id'),
    columnsRead: text('columns_read').array().notNull().default([]),
    columnsMasked: text('columns_masked').array().notNull().default([]),
    filter: jsonb('filter').$type<unknown>(),
    rowCount: integer('row_count'),
    requestId: text('request_id'),
  },
  (t) => [
    index('audit_events_org_id_idx').on(t.orgId, t.id),
    index('audit_events_dataset_idx').on(t.datasetId),
  ],
);
export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;

/**
 * One row counting the changes that cached access data depends on (an API key revoked, a policy
 * set or removed, a column's sensitivity changed, a dataset deleted), bumped in the transaction
 * that makes the change: a process that reads a newer count than it last saw drops its caches
 * before using them (`src/access/cache.ts`).
 */
export const accessEpoch = pgTable('access_epoch', {
  id: integer('id').primaryKey(),
  n: bigint('n', { mode: 'number' }).notNull(),
});
