import { index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { apiKeys, organizations, users } from './auth';
import { createdAt, id, updatedAt } from './common';
import { type ColumnType, datasets } from './datasets';

export const QUERY_VISIBILITIES = ['ORG', 'PRIVATE'] as const;
export type QueryVisibility = (typeof QUERY_VISIBILITIES)[number];
export const visibilityEnum = pgEnum('query_visibility', QUERY_VISIBILITIES);

/** A parameter's value is bound, never stored, so it has no category: that is a STRING. */
export type ParameterType = Exclude<ColumnType, 'CATEGORY'>;

/** A named, typed parameter of a saved query, as stored. */
export interface StoredParameter {
  name: string;
  type: ParameterType;
  required: boolean;
  default: unknown;
}

export const savedQueries = pgTable(
  'saved_queries',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    query: jsonb('query').$type<Record<string, unknown>>().notNull(),
    parameters: jsonb('parameters').$type<StoredParameter[]>().notNull().default([]),
    visibility: visibilityEnum('visibility').notNull().default('ORG'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('saved_queries_org_idx').on(t.orgId),
    index('saved_queries_dataset_idx').on(t.datasetId),
    index('saved_queries_owner_idx').on(t.ownerId),
  ],
);
export type SavedQuery = typeof savedQueries.$inferSelect;

/** What a user (or key) ran, newest first per person. */
export const queryHistory = pgTable(
  'query_history',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    datasetId: uuid('dataset_id').references(() => datasets.id, { onDelete: 'cascade' }),
    versionId: uuid('version_id'),
    kind: text('kind').notNull(),
    query: jsonb('query').$type<unknown>().notNull(),
    rowCount: integer('row_count').notNull(),
    ms: integer('ms').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('query_history_user_idx').on(t.userId, t.at),
    index('query_history_api_key_idx').on(t.apiKeyId),
    index('query_history_org_idx').on(t.orgId),
    index('query_history_dataset_idx').on(t.datasetId),
  ],
);
export type QueryHistoryEntry = typeof queryHistory.$inferSelect;

/** Structured LLM answers by prompt hash, so the same question costs one call. */
export const llmCache = pgTable('llm_cache', {
  promptHash: text('prompt_hash').primaryKey(),
  model: text('model').notNull(),
  response: jsonb('response').$type<unknown>().notNull(),
  createdAt: createdAt(),
});
