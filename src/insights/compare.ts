import type { InsightsRun } from '../../db/schema/insights';
import { NUMERIC } from '../access/compile';
import { type Gate, openGate } from '../access/gate';
import { gatedProfile } from '../access/profile';
import type { AuthedContext } from '../context';
import { type ColumnDrift, driftBetween } from '../drift/check';
import { normalTwoSided } from '../drift/statistics';
import { ForbiddenError, InputError } from '../errors';
import { readCache, visibilityFingerprint } from './cache';
import { studentTwoSided } from './correlations';
import {
  type ComputedInsights,
  type InsightsState,
  type InsightsStatus,
  insightsOf,
} from './service';
import { type ColumnSummary, type Summary, summarize } from './summary';

export interface VersionSelector {
  datasetId: string;
  version?: number | null;
}

export interface MeanChange {
  a: number;
  b: number;
  /** b − a. */
  change: number;
  /** Welch's t (unequal variances), its Welch–Satterthwaite df and two-sided p
   * (scipy.stats.ttest_ind(equal_var=False)). */
  t: number | null;
  df: number | null;
  p: number | null;
}

export interface MedianChange {
  a: number;
  b: number;
  change: number;
  /** Mann–Whitney U of a (ranks of a's values in both, ties averaged), and the two-sided p by
   * the normal approximation with tie and continuity correction (scipy.stats.mannwhitneyu,
   * method='asymptotic'); null when a side has more distinct values than a profile keeps. */
  u: number | null;
  p: number | null;
}

export interface ColumnComparison {
  column: string;
  drift: ColumnDrift | null;
  mean: MeanChange | null;
  median: MedianChange | null;
}

export interface Comparison {
  a: Gate;
  b: Gate;
  /** READY when compared; COMPUTING while a large side's insights are computed by a job (then
   * `rowsA`, `rowsB` are null and `columns` is empty); FAILED when such a job failed. */
  status: InsightsStatus;
  /** The run computing a side's insights, while it is not READY. */
  progressA: InsightsRun | null;
  progressB: InsightsRun | null;
  rowsA: number | null;
  rowsB: number | null;
  added: Array<{ name: string; type: string }>;
  removed: Array<{ name: string; type: string }>;
  retyped: Array<{ name: string; from: string; to: string }>;
  columns: ColumnComparison[];
}

/**
 * Compares two versions (of one dataset or of two) as the viewer reads them: the schema diff over
 * the columns the viewer may know of, and for each column read in clear in both, the drift
 * statistics (the monitors' implementation), the change of the mean with Welch's t-test and of
 * the median with the Mann–Whitney test. A side above `insightsJobRows` rows is summarized by its
 * insights (`insightsOf`: from the cache, else queued as an insights job); until every such side
 * is cached the comparison is COMPUTING with the runs, and nothing else is read.
 */
export async function compareDatasets(
  ctx: AuthedContext,
  aSel: VersionSelector,
  bSel: VersionSelector,
): Promise<Comparison> {
  const [a, b] = await Promise.all([openGate(ctx, aSel), openGate(ctx, bSel)]);
  if (a.version.id === b.version.id) throw new InputError('Compare two different versions.', 'b');
  // Both sides are checked before either side's job is queued.
  if (a.access.mode !== 'ROWS' || b.access.mode !== 'ROWS')
    throw new ForbiddenError('Insights need row access: this dataset is aggregate-only for you.');
  const known = (g: Gate) =>
    new Map(g.access.columns.filter((c) => c.rule !== 'HIDE').map((c) => [c.name, c]));
  const ka = known(a);
  const kb = known(b);
  const added = [...kb.values()]
    .filter((c) => !ka.has(c.name))
    .map((c) => ({ name: c.name, type: c.type }));
  const removed = [...ka.values()]
    .filter((c) => !kb.has(c.name))
    .map((c) => ({ name: c.name, type: c.type }));
  const retyped = [...ka.values()].flatMap((c) => {
    const other = kb.get(c.name);
    return other && other.type !== c.type ? [{ name: c.name, from: c.type, to: other.type }] : [];
  });
  const diff = { a, b, added, removed, retyped };
  const [ia, ib] = await Promise.all([largeSide(ctx, a), largeSide(ctx, b)]);
  const pending = [ia, ib].filter((s) => s && s.status !== 'READY');
  if (pending.length)
    return {
      ...diff,
      status: pending.some((s) => s!.status === 'FAILED') ? 'FAILED' : 'COMPUTING',
      progressA: ia?.status === 'READY' ? null : (ia?.run ?? null),
      progressB: ib?.status === 'READY' ? null : (ib?.run ?? null),
      rowsA: null,
      rowsB: null,
      columns: [],
    };
  const [sa, sb] = await Promise.all([
    ia?.insights?.summary ?? summaryOf(ctx, a),
    ib?.insights?.summary ?? summaryOf(ctx, b),
  ]);
  const common = sa.columns.filter((c) => {
    const o = sb.columns.find((x) => x.name === c.name);
    return o && o.type === c.type && c.count > 0 && o.count > 0 && c.kind !== 'TEMPORAL';
  });
  const drift = common.length
    ? (
        await driftBetween(
          ctx,
          a,
          b,
          common.map((c) => ({ column: c.name })),
        )
      ).columns
    : [];
  const numeric = common.filter((c) => NUMERIC.includes(c.type as never));
  const [va, vb] = numeric.length
    ? await Promise.all([
        gatedProfile(
          ctx,
          a,
          numeric.map((c) => ({ column: c.name })),
          'COMPARE',
        ),
        gatedProfile(
          ctx,
          b,
          numeric.map((c) => ({ column: c.name })),
          'COMPARE',
        ),
      ])
    : [null, null];
  const columns = common.map((ca): ColumnComparison => {
    const cb = sb.columns.find((x) => x.name === ca.name)!;
    const isNumeric = NUMERIC.includes(ca.type as never);
    const pa = va?.columns.find((p) => p.name === ca.name);
    const pb = vb?.columns.find((p) => p.name === ca.name);
    const mw =
      isNumeric && pa?.values && pb?.values && !pa.truncated && !pb.truncated
        ? mannWhitney(
            pa.values.map((v) => ({ value: Number(v.value), count: v.count })),
            pb.values.map((v) => ({ value: Number(v.value), count: v.count })),
          )
        : null;
    return {
      column: ca.name,
      drift: drift.find((d) => d.column === ca.name) ?? null,
      mean: isNumeric ? welch(ca, cb) : null,
      median:
        isNumeric && ca.median !== null && cb.median !== null
          ? {
              a: ca.median,
              b: cb.median,
              change: cb.median - ca.median,
              u: mw?.u ?? null,
              p: mw?.p ?? null,
            }
          : null,
    };
  });
  return {
    ...diff,
    status: 'READY',
    progressA: null,
    progressB: null,
    rowsA: sa.rows,
    rowsB: sb.rows,
    columns,
  };
}

/**
 * The insights state of a side above `insightsJobRows` rows (cached, or its run queued as the
 * insights rule has it); null for a smaller side, which is summarized in the request.
 */
function largeSide(ctx: AuthedContext, gate: Gate): Promise<InsightsState> | null {
  if (gate.version.rowCount <= ctx.config.insightsJobRows) return null;
  return insightsOf(ctx, {
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    version: gate.version.number,
    gate,
  });
}

/** A version's summary for the viewer: the cached insights when computed, else computed now. */
async function summaryOf(ctx: AuthedContext, gate: Gate): Promise<Summary> {
  const cached = await readCache<ComputedInsights>(
    ctx,
    gate.version.id,
    visibilityFingerprint(ctx, gate),
  );
  return cached?.summary ?? summarize(ctx, gate);
}

export function welch(a: ColumnSummary, b: ColumnSummary): MeanChange | null {
  if (a.mean === null || b.mean === null) return null;
  const base = { a: a.mean, b: b.mean, change: b.mean - a.mean };
  if (a.count < 2 || b.count < 2 || a.std === null || b.std === null)
    return { ...base, t: null, df: null, p: null };
  const va = (a.std * a.std) / a.count;
  const vb = (b.std * b.std) / b.count;
  const se2 = va + vb;
  if (se2 === 0) return { ...base, t: null, df: null, p: null };
  const t = (a.mean - b.mean) / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (a.count - 1) + (vb * vb) / (b.count - 1));
  return { ...base, t, df, p: studentTwoSided(t * t, df) };
}

/** Mann–Whitney U from value counts of both samples (ties get average ranks). */
export function mannWhitney(
  a: ReadonlyArray<{ value: number; count: number }>,
  b: ReadonlyArray<{ value: number; count: number }>,
): { u: number; p: number } | null {
  const n1 = a.reduce((s, v) => s + v.count, 0);
  const n2 = b.reduce((s, v) => s + v.count, 0);
  if (n1 === 0 || n2 === 0) return null;
  const values = new Map<number, { a: number; b: number }>();
  for (const v of a)
    values.set(v.value, {
      a: (values.get(v.value)?.a ?? 0) + v.count,
      b: values.get(v.value)?.b ?? 0,
    });
  for (const v of b)
    values.set(v.value, {
      a: values.get(v.value)?.a ?? 0,
      b: (values.get(v.value)?.b ?? 0) + v.count,
    });
  const sorted = [...values.entries()].sort((x, y) => x[0] - y[0]);
  let below = 0;
  let rankSumA = 0;
  let ties = 0;
  for (const [, c] of sorted) {
    const t = c.a + c.b;
    const rank = below + (t + 1) / 2;
    rankSumA += rank * c.a;
    ties += t * t * t - t;
    below += t;
  }
  const n = n1 + n2;
  const u1 = rankSumA - (n1 * (n1 + 1)) / 2;
  const u = Math.max(u1, n1 * n2 - u1);
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1))));
  if (!(sigma > 0)) return { u: u1, p: 1 };
  const z = (u - mu - 0.5) / sigma;
  return { u: u1, p: z <= 0 ? 1 : Math.min(1, normalTwoSided(z)) };
}
