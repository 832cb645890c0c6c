import { and, asc, eq, or } from 'drizzle-orm';
import { asJson } from '../../db/client';
import { datasets } from '../../db/schema/datasets';
import { type SavedQuery, type StoredParameter, savedQueries } from '../../db/schema/queries';
import { coerce } from '../access/compile';
import type { Filter, QueryInput } from '../access/language';
import { datasetVisibleTo, findDataset } from '../access/visibility';
import { roleAtLeast } from '../auth/roles';
import type { AuthedContext } from '../context';
import { ForbiddenError, InputError, NotFoundError } from '../errors';

const PARAM = /^\$params\.([A-Za-z_][A-Za-z0-9_]{0,62})$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Parameter names a query refers to as `"$params.<name>"` in filter values. */
export function referencedParameters(query: QueryInput): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      const m = PARAM.exec(value);
      if (m) found.add(m[1]!);
    } else if (Array.isArray(value)) for (const v of value) visit(v);
  };
  const walk = (f: Filter | null | undefined) => {
    if (!f) return;
    for (const x of f.and ?? []) walk(x);
    for (const x of f.or ?? []) walk(x);
    walk(f.not);
    for (const op of [
      'eq',
      'ne',
      'lt',
      'lte',
      'gt',
      'gte',
      'in',
      'notIn',
      'between',
      'contains',
      'startsWith',
    ] as const)
      visit(f[op]);
  };
  walk(query.where);
  walk(query.having);
  return found;
}

/** Replaces every `"$params.<name>"` with the argument, typed by the parameter's declaration. */
export function bindParameters(
  query: QueryInput,
  declared: StoredParameter[],
  given: Record<string, unknown>,
): QueryInput {
  const byName = new Map(declared.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) throw new InputError(`No parameter named "${name}".`, 'params');
  }
  const values = new Map<string, unknown>();
  for (const p of declared) {
    const raw = given[p.name] ?? p.default;
    if (raw === undefined || raw === null) {
      if (p.required) throw new InputError(`Parameter "${p.name}" is required.`, 'params');
      values.set(p.name, null);
      continue;
    }
    const text = coerce(raw, p.type, `Parameter "${p.name}"`);
    values.set(
      p.name,
      p.type === 'INTEGER' || p.type === 'FLOAT'
        ? Number(text)
        : p.type === 'BOOLEAN'
          ? text === 'true'
          : text,
    );
  }
  const sub = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = PARAM.exec(value);
      return m ? values.get(m[1]!) : value;
    }
    return Array.isArray(value) ? value.map(sub) : value;
  };
  const walk = (f: Filter | null | undefined): Filter | null | undefined => {
    if (!f) return f;
    const out: Filter = { ...f };
    if (f.and) out.and = f.and.map((x) => walk(x)!);
    if (f.or) out.or = f.or.map((x) => walk(x)!);
    if (f.not) out.not = walk(f.not);
    for (const op of ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'notIn', 'between'] as const)
      if (f[op] != null) (out as Record<string, unknown>)[op] = sub(f[op]);
    for (const op of ['contains', 'startsWith'] as const)
      if (f[op] != null) out[op] = sub(f[op]) as string | null;
    return out;
  };
  return { ...query, where: walk(query.where), having: walk(query.having) };
}

export async function saveQuery(
  ctx: AuthedContext,
  input: {
    datasetId: string;
    name: string;
    description?: string | null;
    query: QueryInput;
    parameters?: Array<
      Omit<StoredParameter, 'default' | 'required'> & {
        required?: boolean | null;
        default?: unknown;
      }
    > | null;
    visibility?: 'ORG' | 'PRIVATE' | null;
  },
): Promise<SavedQuery> {
  const dataset = await findDataset(ctx, input.datasetId);
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InputError('name must be 1 to 200 characters.', 'name');
  const parameters: StoredParameter[] = (input.parameters ?? []).map((p) => {
    if (!NAME.test(p.name))
      throw new InputError(
        `Parameter name "${p.name}" must be a letter or _ then letters, digits or _.`,
        'parameters',
      );
    if (p.default !== undefined && p.default !== null)
      coerce(p.default, p.type, `Default of "${p.name}"`);
    return { name: p.name, type: p.type, required: p.required ?? true, default: p.default ?? null };
  });
  if (new Set(parameters.map((p) => p.name)).size !== parameters.length)
    throw new InputError('Two parameters have the same name.', 'parameters');
  const declared = new Set(parameters.map((p) => p.name));
  for (const used of referencedParameters(input.query)) {
    if (!declared.has(used))
      throw new InputError(
        `The query uses "$params.${used}", which is not declared.`,
        'parameters',
      );
  }
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
