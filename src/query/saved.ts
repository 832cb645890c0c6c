import { and, asc, eq, or } from 'drizzle-orm';
import { asJson } from '../../db/client';
import { datasets } from '../../db/schema/datasets';
import { type QueryVisibility, type SavedQuery, savedQueries } from '../../db/schema/queries';
import { filterColumns, type QueryInput } from '../access/language';
import { declareParameters, type ParameterDeclaration } from '../access/parameters';
import type { Access } from '../access/policy';
import { accessOfVersions, datasetVisibleTo, findDataset } from '../access/visibility';
import { roleAtLeast } from '../auth/roles';
import type { AuthedContext } from '../context';
import { versionsOf } from '../datasets/service';
import { ForbiddenError, InputError, NotFoundError } from '../errors';

export async function saveQuery(
  ctx: AuthedContext,
  input: {
    datasetId: string;
    name: string;
    description?: string | null;
    query: QueryInput;
    parameters?: ParameterDeclaration[] | null;
    visibility?: QueryVisibility | null;
  },
): Promise<SavedQuery> {
  const dataset = await findDataset(ctx, input.datasetId);
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InputError('name must be 1 to 200 characters.', 'name');
  const parameters = declareParameters(input.parameters ?? [], input.query);
  const [saved] = await ctx.db
    .insert(savedQueries)
    .values({
      orgId: ctx.viewer.orgId,
      datasetId: dataset.id,
      ownerId: ctx.viewer.userId,
      name,
      description: input.description ?? '',
      query: asJson(input.query) as Record<string, unknown>,
      parameters: asJson(parameters),
      // An API key has no person to keep a private query for.
      visibility: ctx.viewer.userId ? (input.visibility ?? 'ORG') : 'ORG',
    })
    .returning();
  return saved!;
}

/** Saved queries the caller may see: the org's shared ones and their own private ones. */
export async function listSavedQueries(
  ctx: AuthedContext,
  datasetId: string | null,
): Promise<SavedQuery[]> {
  const visible = ctx.viewer.userId
    ? or(eq(savedQueries.visibility, 'ORG'), eq(savedQueries.ownerId, ctx.viewer.userId))
    : eq(savedQueries.visibility, 'ORG');
  const conditions = [eq(savedQueries.orgId, ctx.viewer.orgId), visible!];
  if (datasetId) conditions.push(eq(savedQueries.datasetId, datasetId));
  // Only those over datasets the caller can see (an API key's are limited by policies).
  conditions.push(datasetVisibleTo(ctx.viewer));
  const rows = await ctx.db
    .select({ query: savedQueries })
    .from(savedQueries)
    .innerJoin(datasets, eq(datasets.id, savedQueries.datasetId))
    .where(and(...conditions))
    .orderBy(asc(savedQueries.name), asc(savedQueries.id));
  return rows.map((r) => r.query);
}

export async function findSavedQuery(ctx: AuthedContext, id: string): Promise<SavedQuery> {
  const [q] = await ctx.db
    .select()
    .from(savedQueries)
    .where(and(eq(savedQueries.id, id), eq(savedQueries.orgId, ctx.viewer.orgId)));
  if (!q || (q.visibility === 'PRIVATE' && q.ownerId !== ctx.viewer.userId))
    throw new NotFoundError('SavedQuery');
  return q;
}

export async function deleteSavedQuery(ctx: AuthedContext, id: string): Promise<SavedQuery> {
  const q = await findSavedQuery(ctx, id);
  const isAdmin = ctx.viewer.kind === 'USER' && roleAtLeast(ctx.viewer.role, 'ADMIN');
  if (q.ownerId !== ctx.viewer.userId && !isAdmin)
    throw new ForbiddenError('Only its owner or an admin can delete a saved query.');
  await ctx.db.delete(savedQueries).where(eq(savedQueries.id, q.id));
  return q;
}

/**
 * Which saved queries the viewer may read the text of. A query's literals tell about the columns
 * they are compared with, and its column names tell which columns exist, so another person's
 * query is shown only when, under the viewer's access to every version of the dataset, every
 * column it filters, groups or sorts on is one they read in clear (or one that does not exist),
 * and no column it names is hidden from them. Their own queries they always see.
 */
export async function readableQueries(
  ctx: AuthedContext,
  queries: readonly SavedQuery[],
): Promise<Set<string>> {
  const readable = new Set<string>();
  const others = queries.filter((q) => !(q.ownerId && q.ownerId === ctx.viewer.userId));
  for (const q of queries) if (!others.includes(q)) readable.add(q.id);
  if (others.length === 0) return readable;
  const versions = await versionsOf(ctx.db, [...new Set(others.map((q) => q.datasetId))]);
  const accesses = await accessOfVersions(
    ctx,
    versions.map((v) => v.id),
  );
  for (const q of others) {
    const of = versions.filter((v) => v.datasetId === q.datasetId).map((v) => accesses.get(v.id));
    if (
      of.length > 0 &&
      of.every((access) => access && showsNothingHidden(access, q.query as QueryInput))
    )
      readable.add(q.id);
  }
  return readable;
}

function showsNothingHidden(access: Access, input: QueryInput): boolean {
  const rules = new Map(access.columns.map((c) => [c.name, c.rule]));
  const clearOrAbsent = (name: string) => (rules.get(name) ?? 'CLEAR') === 'CLEAR';
  const aggregated = (input.aggregates ?? []).flatMap((a) => (a.column ? [a.column] : []));
  const compared = [
    ...filterColumns(input.where),
    ...(input.groupBy ?? []).map((g) => g.column),
    ...(input.orderBy ?? []).map((o) => o.column),
    // HAVING compares aggregates of these columns with literals.
    ...(input.having ? aggregated.filter((c) => rules.get(c) !== 'AGGREGATE_ONLY') : []),
  ];
  const named = [...compared, ...(input.select ?? []), ...aggregated];
  return compared.every(clearOrAbsent) && named.every((n) => rules.get(n) !== 'HIDE');
}
