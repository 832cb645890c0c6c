import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apiKeys, memberships, organizations, users } from './auth';
import { createdAt, id, updatedAt } from './common';

export const COLUMN_TYPES = [
  'INTEGER',
  'FLOAT',
  'BOOLEAN',
  'DATE',
  'TIMESTAMP',
  'STRING',
  'CATEGORY',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
export const columnTypeEnum = pgEnum('column_type', COLUMN_TYPES);

const PG_TYPES: Record<ColumnType, string> = {
  INTEGER: 'bigint',
  FLOAT: 'double precision',
  BOOLEAN: 'boolean',
  DATE: 'date',
  TIMESTAMP: 'timestamptz',
  STRING: 'text',
  CATEGORY: 'text',
};

/** The PostgreSQL type that stores a column type, in version tables and in casts of values. */
export function pgTypeFor(type: ColumnType): string {
  return PG_TYPES[type];
}

export const SENSITIVITIES = ['NONE', 'PII', 'SECRET'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];
export const sensitivityEnum = pgEnum('sensitivity', SENSITIVITIES);

export const datasets = pgTable(
  'datasets',
  {
    id: id(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    tags: text('tags').array().notNull().default([]),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('datasets_org_name_idx').on(t.orgId, t.name),
    index('datasets_created_by_idx').on(t.createdBy),
  ],
);
export type Dataset = typeof datasets.$inferSelect;
export type NewDataset = typeof datasets.$inferInsert;

/** An immutable, fully loaded version; its rows live in the typed table `tableName`. */
export const datasetVersions = pgTable(
  'dataset_versions',
  {
    id: id(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    rowCount: bigint('row_count', { mode: 'number' }).notNull(),
    byteSize: bigint('byte_size', { mode: 'number' }).notNull(),
    checksum: text('checksum').notNull(),
    source: text('source').notNull(),
    tableName: text('table_name').notNull().unique(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('dataset_versions_dataset_number_idx').on(t.datasetId, t.number),
    index('dataset_versions_created_by_idx').on(t.createdBy),
  ],
);
export type DatasetVersion = typeof datasetVersions.$inferSelect;
export type NewDatasetVersion = typeof datasetVersions.$inferInsert;

export const datasetColumns = pgTable(
  'dataset_columns',
  {
    id: id(),
    versionId: uuid('version_id')
      .notNull()
      .references(() => datasetVersions.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    type: columnTypeEnum('type').notNull(),
    nullable: boolean('nullable').notNull(),
    sensitivity: sensitivityEnum('sensitivity').notNull(),
    piiKind: text('pii_kind'),
    distinctEstimate: bigint('distinct_estimate', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('dataset_columns_version_position_idx').on(t.versionId, t.position)],
);
export type DatasetColumn = typeof datasetColumns.$inferSelect;
export type NewDatasetColumn = typeof datasetColumns.$inferInsert;

export const UPLOAD_STATUSES = ['PENDING', 'LOADING', 'READY', 'FAILED'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];
export const uploadStatusEnum = pgEnum('upload_status', UPLOAD_STATUSES);

/**
 * A signed upload URL handed out by `createUploadUrl`: single use, short-lived. Its id becomes
 * the id of the version it loads, so progress can be followed before the version exists.
 */
export const datasetUploads = pgTable(
  'dataset_uploads',
  {
    id: id(),
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Who asked for the URL: the load runs with this member's or key's rights at PUT time. */
    membershipId: uuid('membership_id').references(() => memberships.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default({}),
    status: uploadStatusEnum('status').notNull().default('PENDING'),
    error: text('error'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('dataset_uploads_dataset_idx').on(t.datasetId),
    index('dataset_uploads_org_idx').on(t.orgId),
    index('dataset_uploads_membership_idx').on(t.membershipId),
    index('dataset_uploads_api_key_idx').on(t.apiKeyId),
  ],
);
export type DatasetUpload = typeof datasetUploads.$inferSelect;
