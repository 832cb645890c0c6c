import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { type Gate, gatedQuery, openGate } from '../access/gate';
import type { AggregateFunction, TimeBucket } from '../access/language';
import type { AuthedContext } from '../context';
import { normalTwoSided } from '../drift/statistics';
import { InputError } from '../errors';
import { type Changepoints, changepoints } from './changepoints';
import {
  detectSeasonality,
  type InsufficientData,
  insufficient,
  type SeasonalityFound,
} from './seasonality';
import { readableColumn, temporalColumn } from './semantics';

/** Fewest points a least-squares line is fitted to (one degree of freedom for its interval). */
export const MIN_LINEAR_POINTS = 3;
/** Fewest points for Mann–Kendall, whose normal approximation is poor below 10. */
export const MIN_MANN_KENDALL_POINTS = 10;
/** Most buckets one series may hold (Theil–Sen keeps every pairwise slope in memory). */
export const MAX_BUCKETS = 3000;

export interface Point {
  x: number;
  y: number;
}

export interface LinearTrend {
  kind: 'LINEAR_TREND';
  points: number;
  /** Change per bucket. */
  slope: number;
  intercept: number;
  standardError: number;
  /** 95% interval of the slope: slope ± t(0.975, n − 2) · SE. */
  lower: number;
  upper: number;
  tStatistic: number;
  degreesOfFreedom: number;
  /** Two-sided p-value of slope = 0 under the t distribution with n − 2 degrees of freedom. */
  pValue: number;
  rSquared: number;
}

/** Ordinary least squares of y on x with the slope's t-test and 95% interval. */
export function linearTrend(points: readonly Point[]): LinearTrend | InsufficientData {
  const n = points.length;
  if (n < MIN_LINEAR_POINTS)
    return insufficient(
      'LINEAR_TREND',
      n,
      MIN_LINEAR_POINTS,
      `A line with an interval needs at least ${MIN_LINEAR_POINTS} points.`,
    );
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (const p of points) sse += (p.y - intercept - slope * p.x) ** 2;
  const df = n - 2;
  const standardError = Math.sqrt(sse / df / sxx);
  const critical = tQuantile(0.975, df);
  const tStatistic = standardError > 0 ? slope / standardError : slope === 0 ? 0 : Infinity;
  const pValue = Number.isFinite(tStatistic) ? 2 * tCdf(-Math.abs(tStatistic), df) : 0;
  return {
    kind: 'LINEAR_TREND',
    points: n,
    slope,
    intercept,
    standardError,
    lower: slope - critical * standardError,
    upper: slope + critical * standardError,
    tStatistic,
    degreesOfFreedom: df,
    pValue,
    rSquared: syy > 0 ? 1 - sse / syy : 1,
  };
}

function medianOf(values: Float64Array | number[]): number {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

export interface RobustTrend {
  kind: 'ROBUST_TREND';
  points: number;
  /** Theil–Sen: the median of the slopes between every pair of points. */
  theilSenSlope: number;
  /** Median of y − slope · x. */
  theilSenIntercept: number;
  /** Mann–Kendall S = Σ_{i<j} sign(y_j − y_i). */
  s: number;
  /** Var(S) with the tie correction: [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18. */
  variance: number;
  /** (S − sign S) / √Var(S): continuity-corrected. */
  z: number;
  /** Two-sided p-value of no monotonic trend, normal approximation. */
  pValue: number;
  /** Kendall's tau-a: S / (n(n−1)/2). */
  tau: number;
}

/** Theil–Sen slope and the Mann–Kendall test on points ordered by x. */
export function robustTrend(points: readonly Point[]): RobustTrend | InsufficientData {
  const n = points.length;
  if (n < MIN_MANN_KENDALL_POINTS)
    return insufficient(
      'MANN_KENDALL',
      n,
      MIN_MANN_KENDALL_POINTS,
      `Mann–Kendall's normal approximation needs at least ${MIN_MANN_KENDALL_POINTS} points.`,
    );
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let count = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = points[j]!;
      s += Math.sign(b.y - a.y);
      if (b.x !== a.x) slopes[count++] = (b.y - a.y) / (b.x - a.x);
    }
  }
  const slope = medianOf(slopes.subarray(0, count));
  const intercept = medianOf(points.map((p) => p.y - slope * p.x));
  const ties = new Map<number, number>();
  for (const p of points) ties.set(p.y, (ties.get(p.y) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of ties.values()) tieTerm += t * (t - 1) * (2 * t + 5);
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  const z = variance > 0 ? (s - Math.sign(s)) / Math.sqrt(variance) : 0;
  return {
    kind: 'ROBUST_TREND',
    points: n,
    theilSenSlope: slope,
    theilSenIntercept: intercept,
    s,
    variance,
    z,
    pValue: normalTwoSided(z),
    tau: s / ((n * (n - 1)) / 2),
  };
}

export interface PeriodChange {
  current: number;
  previous: number;
  change: number;
  /** change / |previous|; null when previous is 0. */
  relativeChange: number | null;
}

/** The last bucket against the one before it. */
export function periodOverPeriod(values: ReadonlyArray<number | null>): PeriodChange | null {
  const present = values.filter((v): v is number => v !== null);
  if (present.length < 2) return null;
  const current = present[present.length - 1]!;
  const previous = present[present.length - 2]!;
  return {
    current,
    previous,
    change: current - previous,
    relativeChange: previous !== 0 ? (current - previous) / Math.abs(previous) : null,
  };
}

/** Aggregates a trend may follow. */
export const TREND_AGGREGATES = ['SUM', 'AVG', 'COUNT', 'MEDIAN', 'MIN', 'MAX'] as const;
export type TrendAggregate = (typeof TREND_AGGREGATES)[number] & AggregateFunction;

export interface TrendInput {
  datasetId: string;
  version?: number | null;
  timeColumn: string;
  /** Absent only for COUNT (rows per bucket). */
  measure?: string | null;
  aggregate: TrendAggregate;
  bucket: TimeBucket;
  timeZone?: string | null;
}

export interface TrendBucket {
  /**
   * Start of the bucket: a date for DATE columns, an instant (ISO, UTC) for TIMESTAMP ones; an
   * empty bucket filled in has its first local day.
   */
  start: string;
  /** The bucket's first local calendar day in the time zone. */
  label: string;
  /** Position from the first bucket, in buckets. */
  index: number;
  /** Null where the bucket had no rows and the aggregate has no value for none. */
  value: number | null;
}

export interface Trend {
  datasetId: string;
  versionId: string;
  timeColumn: string;
  measure: string | null;
  aggregate: TrendAggregate;
  bucket: TimeBucket;
  timeZone: string;
  series: TrendBucket[];
  linear: LinearTrend | InsufficientData;
  robust: RobustTrend | InsufficientData;
  periodOverPeriod: PeriodChange | null;
  seasonality: Array<SeasonalityFound | InsufficientData>;
  changepoints: Changepoints | InsufficientData;
  /** Label of the bucket where each changepoint's new mean starts. */
  changepointLabels: string[];
}

/** `YYYY-MM-DD` of an instant in a time zone. */
export function localDate(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(iso));
}

/** Buckets between two local dates (both bucket starts). */
export function bucketsBetween(from: string, to: string, bucket: TimeBucket): number {
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  if (bucket === 'MONTH') return (ty - fy) * 12 + (tm - fm);
  const days = Math.round(
    (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 864e5,
  );
  return bucket === 'WEEK' ? Math.round(days / 7) : days;
}

/**
 * A bucketed series of one measure over a time column, read as one grouped aggregate through
 * the gate (the viewer's rows and column rules), with its trend, seasonality and changepoints.
 */
export async function datasetTrend(ctx: AuthedContext, input: TrendInput): Promise<Trend> {
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version ?? null });
  return trendOf(ctx, gate, input);
}

export async function trendOf(ctx: AuthedContext, gate: Gate, input: TrendInput): Promise<Trend> {
  const time = temporalColumn(gate, input.timeColumn, 'timeColumn');
  if (input.aggregate !== 'COUNT' && !input.measure)
    throw new InputError(`${input.aggregate} needs a measure column.`, 'measure');
  if (input.measure) readableColumn(gate, input.measure, 'measure', { numeric: true });
  const timeZone = input.timeZone ?? 'UTC';
  const result = await gatedQuery(
    ctx,
    gate,
    {
      where: { column: time.name, isNull: false },
      groupBy: [{ column: time.name, timeBucket: input.bucket, timeZone, as: 'bucket' }],
      aggregates: [{ function: input.aggregate, column: input.measure ?? null, as: 'value' }],
    },
    { first: MAX_BUCKETS },
    { action: 'INSIGHTS' },
  );
  if (result.hasNextPage)
    throw new InputError(
      `The series has more than ${MAX_BUCKETS} buckets: choose a longer bucket.`,
      'bucket',
    );
  const rows = result.rows.filter((r) => r.bucket !== null);
  const labels = rows.map((r) =>
    time.type === 'DATE' ? String(r.bucket) : localDate(String(r.bucket), timeZone),
  );
  const series: TrendBucket[] = [];
  if (rows.length > 0) {
    const first = labels[0]!;
    const span = bucketsBetween(first, labels[labels.length - 1]!, input.bucket);
    if (span + 1 > MAX_BUCKETS)
      throw new InputError(
        `The series spans more than ${MAX_BUCKETS} buckets: choose a longer bucket.`,
        'bucket',
      );
    // Empty buckets in between: no rows means 0 for a count or sum, no value otherwise.
    const empty = input.aggregate === 'COUNT' || input.aggregate === 'SUM' ? 0 : null;
    const at = new Map(
      rows.map((r, i) => [bucketsBetween(first, labels[i]!, input.bucket), { r, i }]),
    );
    let cursor = first;
    for (let index = 0; index <= span; index++) {
      const hit = at.get(index);
      if (hit) {
        cursor = labels[hit.i]!;
        const v = hit.r.value;
        series.push({
          start: String(hit.r.bucket),
          label: cursor,
          index,
          value: v === null ? null : Number(v),
        });
      } else {
        const label = advance(
          cursor,
          input.bucket,
          index - bucketsBetween(first, cursor, input.bucket),
        );
        series.push({ start: label, label, index, value: empty });
      }
    }
  }
  const values = series.map((b) => b.value);
  const present = series.filter((b) => b.value !== null);
  const points = present.map((b) => ({ x: b.index, y: b.value as number }));
  const shifts = changepoints(points.map((p) => p.y));
  return {
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    timeColumn: time.name,
    measure: input.measure ?? null,
    aggregate: input.aggregate,
    bucket: input.bucket,
    timeZone,
    series,
    linear: linearTrend(points),
    robust: robustTrend(points),
    periodOverPeriod: periodOverPeriod(values),
    seasonality: detectSeasonality(values, input.bucket),
    changepoints: shifts,
    changepointLabels:
      shifts.kind === 'CHANGEPOINTS' ? shifts.indexes.map((i) => present[i]!.label) : [],
  };
}

/** The local date `steps` buckets after `date`. */
function advance(date: string, bucket: TimeBucket, steps: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (bucket === 'MONTH') d.setUTCMonth(d.getUTCMonth() + steps);
  else d.setUTCDate(d.getUTCDate() + steps * (bucket === 'WEEK' ? 7 : 1));
  return d.toISOString().slice(0, 10);
}
