import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { type DatasetPolicy, datasetPolicies } from '../../db/schema/access';
import { apiKeys, memberships } from '../../db/schema/auth';
import { datasetColumns, datasetVersions, type Sensitivity } from '../../db/schema/datasets';
import type { Viewer } from '../auth/viewer';
import type { AuthedContext } from '../context';
import { ForbiddenError } from '../errors';
import type { Filter } from './language';
import { type Access, type ColumnRule, resolveAccess } from './policy';

type Principal = Pick<
  DatasetPolicy,
  'principalKind' | 'principalRole' | 'principalUserId' | 'principalApiKeyId'
>;

/**
 * Refuses a change of a dataset's policies (from `before` to `after`, for `principal`) that
 * would let anyone read more than the caller reads now: neither the caller's own access may
 * widen (an admin rewriting or removing the policy that restricts them), nor may the principal
 * end up with access the caller does not hold (an admin granting a key of their own what they
 * may not read themselves). Compared over every column of every version of the dataset.
 */
export async function assertNoWidening(
  ctx: AuthedContext,
  db: Db,
  datasetId: string,
  principal: Principal,
  before: readonly DatasetPolicy[],
  after: readonly DatasetPolicy[],
): Promise<void> {
  const columns = await columnsOfDataset(db, datasetId);
  const own = resolveAccess(ctx.viewer, columns, before);
  if (!grantsAtMost(resolveAccess(ctx.viewer, columns, after), own))
    throw new ForbiddenError(
      'This change would widen your own access to this dataset; another admin must make it.',
    );
  const subject = await principalViewer(db, ctx.viewer, principal);
  if (subject && !grantsAtMost(resolveAccess(subject, columns, after), own))
    throw new ForbiddenError(
      'This change would give its principal access to this dataset that you do not have yourself.',
    );
}

/**
 * Refuses a sensitivity change that would let the caller read more of the dataset: columns
 * without a rule follow defaults that depend on sensitivity, so lowering it could lift a key's
 * own default masks.
 */
export async function assertSensitivityKeepsAccess(
  ctx: AuthedContext,
  datasetId: string,
  column: string,
  sensitivity: Sensitivity,
): Promise<void> {
  const [columns, policies] = await Promise.all([
    columnsOfDataset(ctx.db, datasetId),
    ctx.db.select().from(datasetPolicies).where(eq(datasetPolicies.datasetId, datasetId)),
  ]);
  const changed = columns.map((c) => (c.name === column ? { ...c, sensitivity } : c));
  if (
    !grantsAtMost(
      resolveAccess(ctx.viewer, changed, policies),
      resolveAccess(ctx.viewer, columns, policies),
    )
  )
    throw new ForbiddenError(
      'This change would widen your own access to this dataset; another admin must make it.',
    );
}

/** Every column of every version of a dataset, as the gate resolves rules over them. */
function columnsOfDataset(db: Db, datasetId: string) {
  return db
    .select({
      name: datasetColumns.name,
      type: datasetColumns.type,
      position: datasetColumns.position,
      sensitivity: datasetColumns.sensitivity,
    })
    .from(datasetColumns)
    .where(
      inArray(
        datasetColumns.versionId,
        db
          .select({ id: datasetVersions.id })
          .from(datasetVersions)
          .where(eq(datasetVersions.datasetId, datasetId)),
      ),
    );
}

/** A viewer standing for a policy's principal (a member of a role with no policy of their own). */
async function principalViewer(
  db: Db,
  caller: Viewer,
  principal: Principal,
): Promise<Viewer | null> {
  const base = {
    orgId: caller.orgId,
    userId: null,
    apiKeyId: null,
    membershipId: null,
    attributes: {},
    expiresAt: null,
  };
  if (principal.principalKind === 'ROLE' && principal.principalRole)
    return { ...base, kind: 'USER', role: principal.principalRole };
  if (principal.principalKind === 'USER' && principal.principalUserId) {
    const [m] = await db
      .select({ role: memberships.role, id: memberships.id })
      .from(memberships)
      .where(
        and(eq(memberships.userId, principal.principalUserId), eq(memberships.orgId, caller.orgId)),
      );
    return m
      ? {
          ...base,
          kind: 'USER',
          role: m.role,
          userId: principal.principalUserId,
          membershipId: m.id,
        }
      : null;
  }
  if (principal.principalKind === 'API_KEY' && principal.principalApiKeyId) {
    const [k] = await db
      .select({ role: apiKeys.role })
      .from(apiKeys)
      .where(eq(apiKeys.id, principal.principalApiKeyId));
    return k
      ? { ...base, kind: 'API_KEY', role: k.role, apiKeyId: principal.principalApiKeyId }
      : null;
  }
  return null;
}

/**
 * Whether `granted` lets its holder read no more than `held`: no more rows (the same row filter,
 * or one ANDed with it), no row access where only aggregates are held, no smaller groups, no
 * weaker differential privacy, and no column shown more openly. Row filters are compared by shape, so an equivalent filter written
 * differently counts as wider: a refusal, never a leak.
 */
export function grantsAtMost(granted: Access | null, held: Access | null): boolean {
  if (!granted) return true;
  if (!held) return false;
  if (held.mode === 'AGGREGATE_ONLY' && granted.mode !== 'AGGREGATE_ONLY') return false;
  if (held.rowFilter && !narrows(granted.rowFilter, held.rowFilter)) return false;
  const guarded =
    held.mode === 'AGGREGATE_ONLY' || held.columns.some((c) => c.rule === 'AGGREGATE_ONLY');
  if (guarded && granted.minGroupSize < held.minGroupSize) return false;
  // Noise held must stay, no weaker: no larger ε or δ per query, no larger budget per period.
  if (guarded && held.privacy) {
    const p = granted.privacy;
    if (
      !p ||
      p.epsilon > held.privacy.epsilon ||
      p.delta > held.privacy.delta ||
      p.epsilonBudget / p.budgetPeriodSeconds >
        held.privacy.epsilonBudget / held.privacy.budgetPeriodSeconds ||
      p.epsilonBudget > held.privacy.epsilonBudget
    )
      return false;
  }
  return granted.columns.every((c, i) => ruleAtMost(c.rule, held.columns[i]!.rule));
}

function narrows(filter: Filter | null, bound: Filter): boolean {
  if (!filter) return false;
  if (sameFilter(filter, bound)) return true;
  return (filter.and ?? []).some((f) => narrows(f, bound));
}

function sameFilter(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The filter with its keys sorted and null or absent fields dropped. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}

/**
 * HIDE shows least; MASK shows only whether a value is present; HASH, PARTIAL and AGGREGATE_ONLY
 * each show something the others do not; CLEAR shows everything.
 */
function ruleAtMost(granted: ColumnRule, held: ColumnRule): boolean {
  return (
    granted === held ||
    held === 'CLEAR' ||
    granted === 'HIDE' ||
    (granted === 'MASK' && held !== 'HIDE')
  );
}
