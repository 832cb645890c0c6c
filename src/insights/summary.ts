import { NUMERIC } from '../access/compile';
import type { Gate } from '../access/gate';
import { gatedProfile, type ProfileRequest } from '../access/profile';
import { type ColumnMoments, gatedMoments } from '../access/statistics';
import type { AuthedContext } from '../context';
import { sturgesEdges } from '../drift/statistics';

/** The percentiles every numeric column reports (quartiles among them). */
export const PERCENTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;
/** Categories listed per column, most frequent first. */
export const TOP_CATEGORIES = 10;

export type ColumnKind = 'NUMERIC' | 'CATEGORICAL' | 'TEMPORAL';

export interface HistogramBin {
  /** [lower, upper), the last bin closed on the right (numpy's `histogram`). */
  lower: number;
  upper: number;
  count: number;
  share: number;
}

export interface CategoryShare {
  value: string;
  count: number;
  /** Of the rows with a value. */
  share: number;
}

export interface ColumnSummary {
  name: string;
  type: string;
  kind: ColumnKind;
  count: number;
  nulls: number;
  distinct: number;
  min: number | null;
  max: number | null;
  /** Dates and times: the first and last, as ISO text. */
  earliest: string | null;
  latest: string | null;
  mean: number | null;
  median: number | null;
  /** Sample standard deviation (n − 1). */
  std: number | null;
  q1: number | null;
  q3: number | null;
  iqr: number | null;
  percentiles: Array<{ p: number; value: number }>;
  /** Median absolute deviation from the median (unscaled). */
  mad: number | null;
  /** g₁ = m₃ / m₂^{3/2}, m_k = Σ(x − x̄)^k / n (scipy.stats.skew, bias=True). */
  skewness: number | null;
  /** g₂ = m₄ / m₂² − 3 (scipy.stats.kurtosis, Fisher, bias=True). */
  kurtosis: number | null;
  histogram: HistogramBin[];
  topCategories: CategoryShare[];
}

export interface Summary {
  rows: number;
  columns: ColumnSummary[];
}

export function kindOf(type: string): ColumnKind {
  if (NUMERIC.includes(type as never)) return 'NUMERIC';
  if (type === 'DATE' || type === 'TIMESTAMP') return 'TEMPORAL';
  return 'CATEGORICAL';
}

/** The columns the viewer reads in clear, in file order: the only ones insights describe. */
export function clearColumns(gate: Gate) {
  return gate.access.columns.filter((c) => c.rule === 'CLEAR');
}

/**
 * Describes every clear column of the gate's version in two statements under the viewer's
 * policy: moments and percentiles, then histograms over Sturges' edges and category counts in
 * one profile pass.
 */
export async function summarize(ctx: AuthedContext, gate: Gate): Promise<Summary> {
  const clear = clearColumns(gate);
  const moments = await gatedMoments(
    ctx,
    gate,
    clear.map((c) => c.name),
    PERCENTILES,
  );
  const requests: ProfileRequest[] = [];
  const edgesOf = new Map<string, number[]>();
  for (const m of moments.columns) {
    const kind = kindOf(m.type);
    if (
      kind === 'NUMERIC' &&
      m.count > 0 &&
      typeof m.min === 'number' &&
      typeof m.max === 'number'
    ) {
      const edges = sturgesEdges(m.min, m.max, m.count);
      edgesOf.set(m.name, edges);
      requests.push({ column: m.name, edges });
    } else if (kind === 'CATEGORICAL') requests.push({ column: m.name });
  }
  const profile = requests.length > 0 ? await gatedProfile(ctx, gate, requests, 'INSIGHTS') : null;
  return {
    rows: moments.rows,
    columns: moments.columns.map((m) => {
      const p = profile?.columns.find((c) => c.name === m.name) ?? null;
      const histogram: HistogramBin[] = [];
      const edges = edgesOf.get(m.name);
      if (edges && p?.buckets) {
        const last = edges.length - 2;
        for (let k = 0; k <= last; k++) {
          const count =
            (p.buckets.at[k] ?? 0) +
            (k < last
              ? (p.buckets.after[k] ?? 0)
              : (p.buckets.at[k + 1] ?? 0) + (p.buckets.after[k] ?? 0));
          histogram.push({
            lower: edges[k]!,
            upper: edges[k + 1]!,
            count,
            share: m.count > 0 ? count / m.count : 0,
          });
        }
      }
      const topCategories =
        p?.values?.slice(0, TOP_CATEGORIES).map((v) => ({
          value: v.value,
          count: v.count,
          share: m.count > 0 ? v.count / m.count : 0,
        })) ?? [];
      return describe(m, histogram, topCategories);
    }),
  };
}

function describe(
  m: ColumnMoments,
  histogram: HistogramBin[],
  topCategories: CategoryShare[],
): ColumnSummary {
  const kind = kindOf(m.type);
  const at = (p: number) => {
    const i = PERCENTILES.indexOf(p as never);
    const v = m.percentiles?.[i];
    return v === undefined || Number.isNaN(v) ? null : v;
  };
  const n = m.count;
  const shape = (k: 3 | 4) => {
    if (n < 2 || m.m2 === null || m.m2 === 0) return null;
    const m2 = m.m2 / n;
    return k === 3 ? m.m3! / n / m2 ** 1.5 : m.m4! / n / (m2 * m2) - 3;
  };
  const q1 = kind === 'NUMERIC' ? at(0.25) : null;
  const q3 = kind === 'NUMERIC' ? at(0.75) : null;
  return {
    name: m.name,
    type: m.type,
    kind,
    count: n,
    nulls: m.nulls,
    distinct: m.distinct,
    min: kind === 'NUMERIC' ? (m.min as number | null) : null,
    max: kind === 'NUMERIC' ? (m.max as number | null) : null,
    earliest: kind === 'TEMPORAL' ? (m.min as string | null) : null,
    latest: kind === 'TEMPORAL' ? (m.max as string | null) : null,
    mean: m.mean,
    median: kind === 'NUMERIC' ? at(0.5) : null,
    std: m.std,
    q1,
    q3,
    iqr: q1 !== null && q3 !== null ? q3 - q1 : null,
    percentiles:
      kind === 'NUMERIC' && n > 0
        ? PERCENTILES.map((p): { p: number; value: number | null } => ({ p, value: at(p) })).filter(
            (x): x is { p: number; value: number } => x.value !== null,
          )
        : [],
    mad: m.mad,
    skewness: kind === 'NUMERIC' ? shape(3) : null,
    kurtosis: kind === 'NUMERIC' ? shape(4) : null,
    histogram,
    topCategories,
  };
}
