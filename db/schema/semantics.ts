import { index, jsonb, pgTable, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from './auth';
import { updatedAt } from './common';
import { datasets } from './datasets';

/** Marketing roles a column can play; KPIs are ratios of their sums. */
export const MEASURE_ROLES = ['impressions', 'clicks', 'conversions', 'cost', 'revenue'] as const;
export type MeasureRole = (typeof MEASURE_ROLES)[number];

/** Which columns of a dataset mean what: measures by role, the date, and the dimensions. */
export interface SemanticMapping {
  impressions?: string | null;
  clicks?: string | null;
  conversions?: string | null;
  cost?: string | null;
  revenue?: string | null;
  date?: string | null;
  dimensions?: string[] | null;
}

/** The confirmed semantics of a dataset (one row per dataset), set by an analyst. */
export const datasetSemantics = pgTable(
  'dataset_semantics',
  {
    datasetId: uuid('dataset_id')
      .primaryKey()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    mapping: jsonb('mapping').$type<SemanticMapping>().notNull(),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('dataset_semantics_org_idx').on(t.orgId),
    index('dataset_semantics_updated_by_idx').on(t.updatedBy),
  ],
);

export type DatasetSemanticsRow = typeof datasetSemantics.$inferSelect;
