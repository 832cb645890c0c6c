import { and, asc, eq, or } from 'drizzle-orm';
import { asJson } from '../../db/client';
import { datasets } from '../../db/schema/datasets';
import { type QueryVisibility, type SavedQuery, savedQueries } from '../../db/schema/queries';
import type { QueryInput } from '../access/language';
import { declareParameters, type ParameterDeclaration } from '../access/parameters';
import { datasetVisibleTo, findDataset } from '../access/visibility';
import { roleAtLeast } from '../auth/roles';
import type { AuthedContext } from '../context';
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
