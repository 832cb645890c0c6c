import { and, asc, desc, eq } from 'drizzle-orm';
import { asJson, type Db, isUniqueViolation } from '../../db/client';
import {
  type DatasetPolicy,
  datasetPolicies,
  type StoredColumnBounds,
  type StoredColumnRule,
} from '../../db/schema/access';
import { apiKeys, memberships, type Role } from '../../db/schema/auth';
import { datasetColumns, datasets, datasetVersions } from '../../db/schema/datasets';
import type { AuthedContext } from '../context';
import { InputError, NotFoundError } from '../errors';
import { accessChanged, bumpAccessEpoch } from './cache';
import { coerce, compileFilter } from './compile';
import type { Filter } from './language';
import { Params } from './mask';
import { resolveAccess } from './policy';
import { findDataset } from './visibility';
import { assertNoWidening } from './widening';

export interface PolicyInput {
  datasetId: string;
  principal: { role?: Role | null; userId?: string | null; apiKeyId?: string | null };
  access?: 'ROWS' | 'AGGREGATE_ONLY' | null;
  rowFilter?: Filter | null;
  columnRules?: StoredColumnRule[] | null;
  minGroupSize?: number | null;
  differentialPrivacy?: boolean | null;
  epsilon?: number | null;
  delta?: number | null;
  epsilonBudget?: number | null;
  budgetPeriodSeconds?: number | null;
  columnBounds?: StoredColumnBounds[] | null;
}

/** Defaults of a policy's differential-privacy settings (documented in the README). */
export const PRIVACY_DEFAULTS = {
  epsilon: 1,
  delta: 1e-5,
  epsilonBudget: 10,
  budgetPeriodSeconds: 86_400,
} as const;

const VIEWER_FIELDS = /^\$viewer\.(id|orgId|role|attributes\.[A-Za-z0-9_.-]{1,100})$/;

/**
 * Creates or replaces the policy of one principal on a dataset. The principal must belong to the
 * organization; rules and the row filter must name columns of the current version, and a
 * `$viewer.…` reference must be one the gate knows.
 */
export async function setDatasetPolicy(
  ctx: AuthedContext,
  input: PolicyInput,
): Promise<DatasetPolicy> {
  const dataset = await findDataset(ctx, input.datasetId);
  const { role, userId, apiKeyId } = input.principal;
  const given = [role, userId, apiKeyId].filter((v) => v != null);
  if (given.length !== 1)
    throw new InputError('Name exactly one principal: a role, a user or an API key.', 'principal');
  if (userId) {
    const [m] = await ctx.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(and(eq(memberships.userId, userId), eq(memberships.orgId, ctx.viewer.orgId)));
    if (!m) throw new NotFoundError('User');
  }
  if (apiKeyId) {
    const [k] = await ctx.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, apiKeyId), eq(apiKeys.orgId, ctx.viewer.orgId)));
    if (!k) throw new NotFoundError('ApiKey');
  }
  const minGroupSize = input.minGroupSize ?? 5;
  if (!Number.isInteger(minGroupSize) || minGroupSize < 1 || minGroupSize > 1_000_000)
    throw new InputError('minGroupSize must be between 1 and 1000000.', 'minGroupSize');

  const [latest] = await ctx.db
    .select({ id: datasetVersions.id })
    .from(datasetVersions)
    .where(eq(datasetVersions.datasetId, dataset.id))
    .orderBy(desc(datasetVersions.number))
    .limit(1);
  const columns = latest
    ? await ctx.db
        .select()
        .from(datasetColumns)
        .where(eq(datasetColumns.versionId, latest.id))
        .orderBy(asc(datasetColumns.position))
    : [];
  // A column hidden from the caller answers as a missing one here too.
  const own = resolveAccess(
    ctx.viewer,
    columns,
    await ctx.db.select().from(datasetPolicies).where(eq(datasetPolicies.datasetId, dataset.id)),
  );
  const known = new Map(
    columns.filter((_, i) => own?.columns[i]?.rule !== 'HIDE').map((c) => [c.name, c]),
  );
  const rules = input.columnRules ?? [];
  const privacy = privacySettings(input, rules, (name) => {
    const c = known.get(name);
    if (latest && !c)
      throw new InputError(`No column named "${name}" in the current version.`, 'columnBounds');
    return c?.type ?? null;
  });
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.column))
      throw new InputError(`Column "${r.column}" has two rules.`, 'columnRules');
    seen.add(r.column);
    if (latest && !known.has(r.column))
      throw new InputError(`No column named "${r.column}" in the current version.`, 'columnRules');
  }
  if (input.rowFilter) {
    // Compile once against the current columns: a filter that would not compile is refused now
    // rather than silently hiding every row later.
    compileFilter(
      input.rowFilter,
      (name) => {
        const c = known.get(name);
        if (latest && !c)
          throw new InputError(`No column named "${name}" in the current version.`, 'rowFilter');
        return { expr: 'null', type: c?.type ?? 'STRING' };
      },
      new Params(),
      (value, type, label) => {
        if (typeof value === 'string' && value.startsWith('$') && !value.startsWith('$$')) {
          if (!VIEWER_FIELDS.test(value))
            throw new InputError(
              `${label}: ${JSON.stringify(value)} is not a viewer reference ($viewer.id, $viewer.orgId, $viewer.role, $viewer.attributes.<name>).`,
              'rowFilter',
            );
          return null;
        }
        return coerce(typeof value === 'string' ? value.replace(/^\$\$/, '$') : value, type, label);
      },
    );
  }

  const values = {
    datasetId: dataset.id,
    orgId: ctx.viewer.orgId,
    principalKind: role ? ('ROLE' as const) : userId ? ('USER' as const) : ('API_KEY' as const),
    principalRole: role ?? null,
    principalUserId: userId ?? null,
    principalApiKeyId: apiKeyId ?? null,
    access: input.access ?? 'ROWS',
    rowFilter: asJson(input.rowFilter ?? null),
    columnRules: asJson(rules),
    minGroupSize,
    ...privacy,
    columnBounds: asJson(privacy.columnBounds),
    createdBy: ctx.viewer.userId,
  };
  try {
    // One transaction holding the dataset's row: policy changes of one dataset are checked and
    // written one at a time, so two changes cannot each pass the check against the other's past.
    const { epoch, ...saved } = await ctx.db.transaction(async (tx) => {
      await lockDataset(tx, dataset.id);
      const current = await tx
        .select()
        .from(datasetPolicies)
        .where(eq(datasetPolicies.datasetId, dataset.id));
      const existing = current.find(
        (p) =>
          p.principalKind === values.principalKind &&
          p.principalRole === values.principalRole &&
          p.principalUserId === values.principalUserId &&
          p.principalApiKeyId === values.principalApiKeyId,
      );
      const next = { ...existing, ...values, id: existing?.id ?? '' } as DatasetPolicy;
      await assertNoWidening(ctx, tx, dataset.id, next, current, [
        ...current.filter((p) => p !== existing),
        next,
      ]);
      const [row] = existing
        ? await tx
            .update(datasetPolicies)
            .set({ ...values, updatedAt: new Date() })
            .where(eq(datasetPolicies.id, existing.id))
            .returning()
        : await tx.insert(datasetPolicies).values(values).returning();
      return { ...row!, epoch: await bumpAccessEpoch(tx) };
    });
    accessChanged(ctx, epoch, [{ kind: 'policies', datasetId: dataset.id }]);
    ctx.log.info({ datasetId: dataset.id, policyId: saved.id }, 'dataset policy set');
    return saved;
  } catch (error) {
    // Two admins setting the same principal's policy at once: the loser is told.
    if (isUniqueViolation(error))
      throw new InputError('This principal’s policy changed meanwhile; try again.', 'principal');
    throw error;
  }
}

/**
 * A policy's differential-privacy settings, checked. Noise is on by default for policies that
 * only let their principal aggregate (the whole dataset, or some column): without it, two sums
 * that differ by one row give that row's value away.
 */
function privacySettings(
  input: PolicyInput,
  rules: StoredColumnRule[],
  typeOf: (column: string) => string | null,
) {
  const aggregateOnly =
    input.access === 'AGGREGATE_ONLY' || rules.some((r) => r.rule === 'AGGREGATE_ONLY');
  const epsilon = input.epsilon ?? PRIVACY_DEFAULTS.epsilon;
  const delta = input.delta ?? PRIVACY_DEFAULTS.delta;
  const epsilonBudget = input.epsilonBudget ?? PRIVACY_DEFAULTS.epsilonBudget;
  const budgetPeriodSeconds = input.budgetPeriodSeconds ?? PRIVACY_DEFAULTS.budgetPeriodSeconds;
  if (!(epsilon > 0 && epsilon <= 100))
    throw new InputError('epsilon must be above 0 and at most 100.', 'epsilon');
  if (!(delta > 0 && delta <= 0.1))
    throw new InputError('delta must be above 0 and at most 0.1.', 'delta');
  if (!(epsilonBudget >= epsilon && epsilonBudget <= 1_000_000))
    throw new InputError(
      'epsilonBudget must be at least epsilon (one query) and at most 1000000.',
      'epsilonBudget',
    );
  if (
    !Number.isInteger(budgetPeriodSeconds) ||
    budgetPeriodSeconds < 60 ||
    budgetPeriodSeconds > 366 * 86_400
  )
    throw new InputError(
      'budgetPeriodSeconds must be a whole number from 60 to 31622400 (366 days).',
      'budgetPeriodSeconds',
    );
  const columnBounds = input.columnBounds ?? [];
  const bounded = new Set<string>();
  for (const b of columnBounds) {
    if (bounded.has(b.column))
      throw new InputError(`Column "${b.column}" has two bounds.`, 'columnBounds');
    bounded.add(b.column);
    const type = typeOf(b.column);
    if (type !== null && type !== 'INTEGER' && type !== 'FLOAT')
      throw new InputError(
        `Bounds apply to numeric columns; "${b.column}" is ${type}.`,
        'columnBounds',
      );
    if (
      !Number.isFinite(b.lower) ||
      !Number.isFinite(b.upper) ||
      !(b.lower < b.upper) ||
      Math.max(Math.abs(b.lower), Math.abs(b.upper)) > 1e15
    )
      throw new InputError(
        `Bounds of "${b.column}" must be finite, within ±1e15, with lower below upper.`,
        'columnBounds',
      );
  }
  return {
    differentialPrivacy: input.differentialPrivacy ?? aggregateOnly,
    epsilon,
    delta,
    epsilonBudget,
    budgetPeriodSeconds,
    columnBounds: columnBounds.map(({ column, lower, upper }) => ({ column, lower, upper })),
  };
}

async function lockDataset(db: Db, datasetId: string): Promise<void> {
  await db
    .select({ id: datasets.id })
    .from(datasets)
    .where(eq(datasets.id, datasetId))
    .for('update');
}

export async function listDatasetPolicies(
  ctx: AuthedContext,
  datasetId: string,
): Promise<DatasetPolicy[]> {
  const dataset = await findDataset(ctx, datasetId);
  return ctx.db
    .select()
    .from(datasetPolicies)
    .where(eq(datasetPolicies.datasetId, dataset.id))
    .orderBy(asc(datasetPolicies.createdAt), asc(datasetPolicies.id));
}

export async function removeDatasetPolicy(
  ctx: AuthedContext,
  policyId: string,
): Promise<DatasetPolicy> {
  const [policy] = await ctx.db
    .select({ datasetId: datasetPolicies.datasetId })
    .from(datasetPolicies)
    .where(and(eq(datasetPolicies.id, policyId), eq(datasetPolicies.orgId, ctx.viewer.orgId)));
  if (!policy) throw new NotFoundError('DatasetPolicy');
  // A policy of a dataset the caller cannot see is not found either.
  await findDataset(ctx, policy.datasetId);
  const { removed, epoch } = await ctx.db.transaction(async (tx) => {
    await lockDataset(tx, policy.datasetId);
    const current = await tx
      .select()
      .from(datasetPolicies)
      .where(eq(datasetPolicies.datasetId, policy.datasetId));
    const removed = current.find((p) => p.id === policyId);
    if (!removed) throw new NotFoundError('DatasetPolicy');
    await assertNoWidening(
      ctx,
      tx,
      policy.datasetId,
      removed,
      current,
      current.filter((p) => p !== removed),
    );
    await tx.delete(datasetPolicies).where(eq(datasetPolicies.id, removed.id));
    return { removed, epoch: await bumpAccessEpoch(tx) };
  });
  accessChanged(ctx, epoch, [{ kind: 'policies', datasetId: policy.datasetId }]);
  return removed;
}
