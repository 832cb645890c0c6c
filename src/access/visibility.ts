import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
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
import { type ColumnRule, resolveAccess } from './policy';

/**
 * Which datasets a viewer can see at all: those of its org, and for an API key only those a
 * policy names it in. This file is the rule's one home, in both of its forms: the SQL condition
 * for lists and loads, and the in-memory check the gate makes once it holds the policies.
 */
export function datasetVisibleTo(viewer: Viewer): SQL {
  const inOrg = eq(datasets.orgId, viewer.orgId);
  if (viewer.kind !== 'API_KEY') return inOrg;
  return and(
    inOrg,
    sql`exists (select 1 from ${datasetPolicies} p where p.dataset_id = ${datasets.id} and p.principal_kind = 'API_KEY' and p.principal_api_key_id = ${viewer.apiKeyId})`,
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
 * Columns of versions as a viewer may know them: each with the rule the access gate applies for
 * this viewer, and without the columns a policy hides from them (HIDE means not at all).
 */
export async function visibleColumnsOf(
  ctx: AppContext,
  versionIds: readonly string[],
): Promise<Array<DatasetColumn & { rule: ColumnRule }>> {
  const viewer = ctx.viewer;
  if (!viewer) return [];
  const columns = await columnsOf(ctx.db, versionIds);
  const versions = await ctx.db
    .select({ id: datasetVersions.id, datasetId: datasetVersions.datasetId })
    .from(datasetVersions)
    .innerJoin(datasets, eq(datasets.id, datasetVersions.datasetId))
    .where(and(inArray(datasetVersions.id, [...versionIds]), datasetVisibleTo(viewer)));
  const datasetOf = new Map(versions.map((v) => [v.id, v.datasetId]));
  const policies = await ctx.db
    .select()
    .from(datasetPolicies)
    .where(inArray(datasetPolicies.datasetId, [...new Set(datasetOf.values())]));
  const out: Array<DatasetColumn & { rule: ColumnRule }> = [];
  for (const versionId of versionIds) {
    const own = columns.filter((c) => c.versionId === versionId);
    const datasetId = datasetOf.get(versionId);
    if (!datasetId) continue;
    const access = resolveAccess(
      viewer,
      own,
      policies.filter((p) => p.datasetId === datasetId),
    );
    if (!access) continue;
    for (const [i, c] of own.entries()) {
      const rule = access.columns[i]!.rule;
      if (rule !== 'HIDE') out.push({ ...c, rule });
    }
  }
  return out;
}
