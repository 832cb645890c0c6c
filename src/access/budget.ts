import { query } from '../../db/client';
import type { AuthedContext } from '../context';
import { PrivacyBudgetExhaustedError } from '../errors';
import { unrepeatable } from './effects';
import { Params } from './mask';
import type { Privacy } from './policy';

/** A credential's differential-privacy budget on one dataset in the current period. */
export interface BudgetState {
  epsilonPerQuery: number;
  delta: number;
  total: number;
  spent: number;
  remaining: number;
  periodSeconds: number;
  periodStart: Date;
  periodEnd: Date;
}

/**
 * The credential a budget belongs to: the API key for a key, else the member. A key and its
 * creator spend separately, as they are separate principals under policies.
 */
function credential(ctx: AuthedContext): { userId: string | null; apiKeyId: string | null } {
  const v = ctx.viewer;
  return v.kind === 'API_KEY'
    ? { userId: null, apiKeyId: v.apiKeyId }
    : { userId: v.userId, apiKeyId: null };
}

/**
 * Periods are fixed windows of the database clock (one clock for every API process), counted
 * from the Unix epoch: a daily budget renews at 00:00 UTC.
 */
function periodStartSql(p: Params, seconds: number): string {
  const period = p.bind(String(seconds), 'float8');
  return `to_timestamp(floor(extract(epoch from now()) / ${period}) * ${period})`;
}

/**
 * Spends `epsilon` of the caller's budget on a dataset, or refuses with
 * PRIVACY_BUDGET_EXHAUSTED. One conditional upsert: the row of the period is locked while it
 * is checked and raised, so concurrent queries cannot together spend more than the budget. It
 * runs before the query, so an exhausted caller costs no scan; a query that fails afterwards
 * still counts, which errs on the side of privacy.
 */
export async function spendPrivacyBudget(
  ctx: AuthedContext,
  datasetId: string,
  privacy: Privacy,
): Promise<void> {
  unrepeatable(ctx);
  const p = new Params();
  const { userId, apiKeyId } = credential(ctx);
  const epsilon = p.bind(String(privacy.epsilon), 'numeric');
  const budget = p.bind(String(privacy.epsilonBudget), 'numeric');
  const rows = await query(
    ctx.database,
    `insert into privacy_budgets as b (org_id, dataset_id, user_id, api_key_id, period_start, spent)
     select ${p.bind(ctx.viewer.orgId, 'uuid')}, ${p.bind(datasetId, 'uuid')}, ${p.bind(userId, 'uuid')},
       ${p.bind(apiKeyId, 'uuid')}, ${periodStartSql(p, privacy.budgetPeriodSeconds)}, ${epsilon}
     where ${epsilon} <= ${budget}
     on conflict (dataset_id, (coalesce(user_id, api_key_id)), period_start)
     do update set spent = b.spent + excluded.spent, updated_at = now()
       where b.spent + excluded.spent <= ${budget}
     returning b.spent`,
    p.values,
  );
  if (rows.length === 0) {
    const state = await privacyBudgetState(ctx, datasetId, privacy);
    throw new PrivacyBudgetExhaustedError(
      `Your privacy budget on this dataset is spent: ${state.remaining} of ${state.total} ε left this period, a query needs ${privacy.epsilon}; it renews at ${state.periodEnd.toISOString()}.`,
    );
  }
}

/** What the caller has spent and has left on a dataset in the current period. */
export async function privacyBudgetState(
  ctx: AuthedContext,
  datasetId: string,
  privacy: Privacy,
): Promise<BudgetState> {
  const p = new Params();
  const { userId, apiKeyId } = credential(ctx);
  const start = periodStartSql(p, privacy.budgetPeriodSeconds);
  // Subtracted as numeric in SQL, so ten spends of 0.1 leave exactly 0 of 1.
  const [row] = await query<{ start: string | Date; spent: string; remaining: string }>(
    ctx.database,
    `select s.start, s.spent::text as spent,
       greatest(0, ${p.bind(String(privacy.epsilonBudget), 'numeric')} - s.spent)::text as remaining
     from (select ${start} as start, coalesce((select spent from privacy_budgets
         where dataset_id = ${p.bind(datasetId, 'uuid')}
           and coalesce(user_id, api_key_id) = ${p.bind(userId ?? apiKeyId, 'uuid')}
           and period_start = ${start}), 0) as spent) s`,
    p.values,
  );
  const periodStart = new Date(row!.start);
  return {
    epsilonPerQuery: privacy.epsilon,
    delta: privacy.delta,
    total: privacy.epsilonBudget,
    spent: Number(row!.spent),
    remaining: Number(row!.remaining),
    periodSeconds: privacy.budgetPeriodSeconds,
    periodStart,
    periodEnd: new Date(periodStart.getTime() + privacy.budgetPeriodSeconds * 1000),
  };
}
