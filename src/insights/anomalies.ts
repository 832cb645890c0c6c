import { type Gate, gatedQuery } from '../access/gate';
import { gatedOutsideCount, gatedSeries, type SeriesUnit } from '../access/statistics';
import type { AuthedContext } from '../context';
import type { ColumnSummary, Summary } from './summary';

export type AnomalyRule = 'ZSCORE' | 'TUKEY' | 'MAD';

/** Rows shown per column and rule; the count covers them all. */
export const ANOMALY_ROWS = 20;
/** Series measures checked for seasonal anomalies per time column. */
const SEASONAL_MEASURES = 5;

export interface ColumnAnomalies {
  column: string;
  /** ZSCORE: |x − x̄| / σ > 3 (σ the population standard deviation, scipy.stats.zscore);
   * TUKEY: outside [Q1 − 1.5·IQR, Q3 + 1.5·IQR]; MAD: |0.6745·(x − median) / MAD| > 3.5. */
  rule: AnomalyRule;
  /** Values outside [lower, upper] are anomalous (strictly). */
  lower: number;
  upper: number;
  count: number;
  /** The first anomalous rows as the viewer reads them (masked columns masked). */
  rows: Array<Record<string, unknown>>;
}

export interface SeasonalPoint {
  bucket: string;
  value: number;
  trend: number;
  seasonal: number;
  residual: number;
  /** 0.6745·(residual − median residual) / MAD of the residuals. */
  score: number;
}

export interface SeasonalAnomalies {
  time: string;
  measure: string;
  unit: SeriesUnit;
  /** Season length in buckets: 12 months, or 7 days. */
  period: number;
  points: number;
  anomalies: SeasonalPoint[];
}

export interface Anomalies {
  columns: ColumnAnomalies[];
  seasonal: SeasonalAnomalies[];
}

/** The bounds of each rule from a column's summary; a rule whose scale is zero is skipped. */
export function ruleBounds(
  c: ColumnSummary,
): Array<{ rule: AnomalyRule; lower: number; upper: number }> {
  const out: Array<{ rule: AnomalyRule; lower: number; upper: number }> = [];
  if (c.kind !== 'NUMERIC' || c.count < 3 || c.mean === null || c.std === null) return out;
  const sigma = c.std * Math.sqrt((c.count - 1) / c.count);
  if (sigma > 0) out.push({ rule: 'ZSCORE', lower: c.mean - 3 * sigma, upper: c.mean + 3 * sigma });
  if (c.q1 !== null && c.q3 !== null && c.iqr !== null && c.iqr > 0)
    out.push({ rule: 'TUKEY', lower: c.q1 - 1.5 * c.iqr, upper: c.q3 + 1.5 * c.iqr });
  if (c.median !== null && c.mad !== null && c.mad > 0) {
    const w = (3.5 * c.mad) / 0.6745;
    out.push({ rule: 'MAD', lower: c.median - w, upper: c.median + w });
  }
  return out;
}

/** Point anomalies of every described numeric column, and seasonal ones of time series. */
export async function findAnomalies(
  ctx: AuthedContext,
  gate: Gate,
  summary: Summary,
): Promise<Anomalies> {
  const checks = summary.columns.flatMap((c) =>
    ruleBounds(c).map((b) => ({ column: c.name, ...b })),
  );
  const counts = await gatedOutsideCount(ctx, gate, checks);
  const columns: ColumnAnomalies[] = [];
  for (const [i, check] of checks.entries()) {
    const count = counts[i] ?? 0;
    let rows: Array<Record<string, unknown>> = [];
    if (count > 0) {
      // The rows through the gate as the viewer reads them: masked columns come back masked.
      // An integer column is filtered by integers: x < l ⇔ x < ⌈l⌉ and x > u ⇔ x > ⌊u⌋.
      const integer = summary.columns.find((c) => c.name === check.column)?.type === 'INTEGER';
      const lt = integer ? Math.ceil(check.lower) : check.lower;
      const gt = integer ? Math.floor(check.upper) : check.upper;
      const result = await gatedQuery(
        ctx,
        gate,
        {
          where: {
            or: [
              { column: check.column, lt },
              { column: check.column, gt },
            ],
          },
          orderBy: [{ column: check.column, direction: 'DESC' }],
        },
        { first: ANOMALY_ROWS },
        { action: 'INSIGHTS' },
      );
      rows = result.rows;
    }
    columns.push({ ...check, count, rows });
  }
  const time = summary.columns.find((c) => c.kind === 'TEMPORAL' && c.count > 0);
  const seasonal: SeasonalAnomalies[] = [];
  if (time?.earliest && time.latest) {
    const years =
      (Date.parse(time.latest) - Date.parse(time.earliest)) / (365.25 * 24 * 3600 * 1000);
    const unit: SeriesUnit | null = years >= 2 ? 'month' : years * 365.25 >= 21 ? 'day' : null;
    if (unit) {
      const measures = summary.columns
        .filter((c) => c.kind === 'NUMERIC' && (c.std ?? 0) > 0)
        .slice(0, SEASONAL_MEASURES);
      const series = await gatedSeries(
        ctx,
        gate,
        time.name,
        measures.map((m) => m.name),
        unit,
      );
      for (const [i, m] of measures.entries()) {
        const found = seasonalAnomalies(series[i] ?? [], unit);
        if (found) seasonal.push({ time: time.name, measure: m.name, unit, ...found });
      }
    }
  }
  return { columns, seasonal };
}

/**
 * Classical additive decomposition: trend by a centered moving average over one season (2×12
 * for months, 7 for days), seasonal component the mean detrended value of each season position
 * (month of year, day of week) centered to sum zero, residual what is left. A point is
 * anomalous when its residual's modified z-score exceeds 3.5. Null for series shorter than two
 * seasons.
 */
export function seasonalAnomalies(
  series: ReadonlyArray<{ bucket: string; value: number }>,
  unit: SeriesUnit,
): { period: number; points: number; anomalies: SeasonalPoint[] } | null {
  const period = unit === 'month' ? 12 : 7;
  const n = series.length;
  if (n < 2 * period + 1) return null;
  const y = series.map((p) => p.value);
  const position = (bucket: string) => {
    const d = new Date(`${bucket}T00:00:00Z`);
    return unit === 'month' ? d.getUTCMonth() : d.getUTCDay();
  };
  const half = Math.floor(period / 2);
  const trend: Array<number | null> = y.map((_, i) => {
    if (i < half || i + half >= n) return null;
    if (period % 2 === 1) {
      let s = 0;
      for (let k = i - half; k <= i + half; k++) s += y[k]!;
      return s / period;
    }
    let s = 0.5 * y[i - half]! + 0.5 * y[i + half]!;
    for (let k = i - half + 1; k < i + half; k++) s += y[k]!;
    return s / period;
  });
  const sums = new Array<number>(period).fill(0);
  const counts = new Array<number>(period).fill(0);
  series.forEach((p, i) => {
    const t = trend[i];
    if (t === null || t === undefined) return;
    const s = position(p.bucket);
    sums[s]! += p.value - t;
    counts[s]! += 1;
  });
  const means = sums.map((s, k) => (counts[k]! > 0 ? s / counts[k]! : 0));
  const present = means.filter((_, k) => counts[k]! > 0);
  const center = present.reduce((a, b) => a + b, 0) / Math.max(1, present.length);
  const seasonalOf = means.map((m) => m - center);
  const points = series.flatMap((p, i) => {
    const t = trend[i];
    if (t === null || t === undefined) return [];
    const seasonal = seasonalOf[position(p.bucket)]!;
    return [
      { bucket: p.bucket, value: p.value, trend: t, seasonal, residual: p.value - t - seasonal },
    ];
  });
  const residuals = points.map((p) => p.residual);
  const med = median(residuals);
  const mad = median(residuals.map((r) => Math.abs(r - med)));
  if (!(mad > 0)) return { period, points: points.length, anomalies: [] };
  const anomalies = points
    .map((p) => ({ ...p, score: (0.6745 * (p.residual - med)) / mad }))
    .filter((p) => Math.abs(p.score) > 3.5);
  return { period, points: points.length, anomalies };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
