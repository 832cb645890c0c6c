import { and, asc, eq, inArray, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { type DatasetPolicy, datasetPolicies } from '../../db/schema/access';
import {
  type Dataset,
  type DatasetColumn,
  datasetColumns,
  datasets,
  datasetVersions,
} from '../../db/schema/datasets';
import type { Viewer } from '../auth/viewer';
import type { AppContext, AuthedContext } from '../context';
import { NotFoundError } from '../errors';
import { policiesOf, versionsWithColumns } from './cache';
import { type Access, applicablePolicy, type ColumnRule, resolveAccess } from './policy';

/**
 * Which datasets a viewer can see at all: those of its org, and for an API key only those a
 * policy names it in. This file is the rule's one home, in both of its forms: the SQL condition
 * for lists and loads, and the in-memory check the gate makes once it holds the policies.
 */
export function datasetVisibleTo(viewer: Viewer): SQL {
  return datasetVisibility(viewer.orgId, viewer.kind === 'API_KEY' ? viewer.apiKeyId : null);
}

/**
 * The same condition over an org and, for an API key, the key — bound values, or a prepared
 * statement's placeholders (one statement per kind of viewer).
 */
export function datasetVisibility(
  orgId: string | Placeholder,
  apiKeyId: string | Placeholder | null,
): SQL {
  const inOrg = eq(datasets.orgId, orgId);
  if (apiKeyId === null) return inOrg;
  return and(
    inOrg,
    sql`exists (select 1 from ${datasetPolicies} p where p.dataset_id = ${datasets.id} and p.principal_kind = 'API_KEY' and p.principal_api_key_id = ${apiKeyId})`,
  )!;
}

/** The in-memory form of `datasetVisibleTo` for a dataset of the viewer's org, given the policy that applies (if any). */
export function visibleUnder(viewer: Viewer, policy: DatasetPolicy | null): boolean {
  return policy !== null || viewer.kind !== 'API_KEY';
}

/** A dataset the viewer can see, or NOT_FOUND (another org's looks the same as a missing one). */
export async function findDataset(ctx: AuthedContext, datasetId: string): Promise<Dataset> {
  const [dataset] = await ctx.db
    .select()
    .from(datasets)
    .where(and(eq(datasets.id, datasetId), datasetVisibleTo(ctx.viewer)));
  if (!dataset) throw new NotFoundError('Dataset');
  return dataset;
}

/** Datasets the viewer can see, by id (the invisible ones are absent). */
export async function loadDatasets(db: Db, viewer: Viewer, ids: readonly string[]) {
  return db
    .select()
    .from(datasets)
    .where(and(inArray(datasets.id, [...ids]), datasetVisibleTo(viewer)));
}

/** Versions of datasets the viewer can see, by id. */
export async function loadVersions(db: Db, viewer: Viewer, ids: readonly string[]) {
  const rows = await db
    .select({ version: datasetVersions })
    .from(datasetVersions)
    .innerJoin(datasets, eq(datasets.id, datasetVersions.datasetId))
    .where(and(inArray(datasetVersions.id, [...ids]), datasetVisibleTo(viewer)));
  return rows.map((r) => r.version);
}

/** Every stored column of the versions, in order: for the gate, never shown as is. */
export async function columnsOf(db: Db, versionIds: readonly string[]): Promise<DatasetColumn[]> {
  return db
    .select()
    .from(datasetColumns)
    .where(inArray(datasetColumns.versionId, [...versionIds]))
    .orderBy(asc(datasetColumns.position));
}

/**
 * What a viewer may do with each of these versions, as the gate would resolve it now; versions
 * the viewer cannot see are absent from the map.
 */
export async function accessOfVersions(
  ctx: AppContext,
  versionIds: readonly string[],
): Promise<Map<string, Access>> {
  return (await resolveVersions(ctx, versionIds)).accesses;
}

/**
 * The access of each version the viewer can see, and their stored columns. The version's
 * dataset and org, its columns and the dataset's policies come from the access caches (no
 * statement once warm); the visibility rule is then `visibleUnder` on the policy that applies,
 * as `datasetVisibleTo` says it in SQL.
 */
async function resolveVersions(ctx: AppContext, versionIds: readonly string[]) {
  const accesses = new Map<string, Access>();
  const viewer = ctx.viewer;
  if (!viewer || versionIds.length === 0) return { accesses, columns: [] };
  const versions = [...(await versionsWithColumns(ctx, versionIds))].filter(
    ([, v]) => v.orgId === viewer.orgId,
  );
  if (versions.length === 0) return { accesses, columns: [] };
  const policies = await policiesOf(
    ctx,
    versions.map(([, v]) => v.datasetId),
  );
  const columns: DatasetColumn[] = [];
  for (const [id, v] of versions) {
    const access = resolveAccess(viewer, v.columns, policies.get(v.datasetId) ?? []);
    if (!access) continue;
    accesses.set(id, access);
    columns.push(...v.columns);
  }
  return { accesses, columns };
}

/**
 * Whether the viewer may know how many rows a dataset's versions hold: the dataset is visible to
 * it and no row filter or aggregate-only access applies. Counts of a load (rows, bytes) are shown
 * only then, since under a row filter they count rows the viewer cannot see.
 */
export async function countsRowsOf(ctx: AuthedContext, datasetId: string): Promise<boolean> {
  const [[dataset], policies] = await Promise.all([
    ctx.db
      .select({ id: datasets.id })
      .from(datasets)
      .where(and(eq(datasets.id, datasetId), eq(datasets.orgId, ctx.viewer.orgId))),
    ctx.db.select().from(datasetPolicies).where(eq(datasetPolicies.datasetId, datasetId)),
  ]);
  if (!dataset) return false;
  const policy = applicablePolicy(policies, ctx.viewer);
  if (!visibleUnder(ctx.viewer, policy)) return false;
  return !policy || (policy.access === 'ROWS' && !policy.rowFilter);
}

/**
 * Whether the viewer reads these columns of every row in clear: row access without a row filter,
 * and each column CLEAR (a column the version lacks is not). What is derived from those columns
 * over all rows (a model's outputs and metrics, a file checksum, a distinct count) may be shown
 * to such a viewer and to no other.
 */
export function readsInClear(access: Access, names: readonly string[]): boolean {
  if (access.mode !== 'ROWS' || access.rowFilter) return false;
  const byName = new Map(access.columns.map((c) => [c.name, c.rule]));
  return names.every((n) => byName.get(n) === 'CLEAR');
}

/**
 * Columns of versions as a viewer may know them: each with the rule the access gate applies for
 * this viewer, and without the columns a policy hides from them (HIDE means not at all).
 * `inClear`: whether the viewer reads that column of every row in clear (`readsInClear`).
 */
export async function visibleColumnsOf(
  ctx: AppContext,
  versionIds: readonly string[],
): Promise<Array<DatasetColumn & { rule: ColumnRule; inClear: boolean }>> {
  const { accesses, columns } = await resolveVersions(ctx, versionIds);
  const out: Array<DatasetColumn & { rule: ColumnRule; inClear: boolean }> = [];
  for (const versionId of versionIds) {
    const access = accesses.get(versionId);
    if (!access) continue;
    const own = columns.filter((c) => c.versionId === versionId);
    for (const [i, c] of own.entries()) {
      const rule = access.columns[i]!.rule;
      if (rule !== 'HIDE') out.push({ ...c, rule, inClear: readsInClear(access, [c.name]) });
    }
  }
  return out;
}
