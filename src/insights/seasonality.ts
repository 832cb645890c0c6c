import type { TimeBucket } from '../access/language';

/** z of a two-sided 95% bound. */
export const Z95 = 1.959963984540054;

/** A seasonal period a bucket size can show: the lag in buckets and its name. */
export interface SeasonalPeriod {
  name: 'WEEKLY' | 'YEARLY';
  lag: number;
}

/** Which periods are looked for at each bucket size (a period must span at least 2 buckets). */
export function periodsFor(bucket: TimeBucket): SeasonalPeriod[] {
  if (bucket === 'DAY')
    return [
      { name: 'WEEKLY', lag: 7 },
      { name: 'YEARLY', lag: 365 },
    ];
  if (bucket === 'WEEK') return [{ name: 'YEARLY', lag: 52 }];
  return [{ name: 'YEARLY', lag: 12 }];
}

/**
 * Sample autocorrelation of a series that may have gaps (null): r_k = Σ (e_t − ē)(e_{t+k} − ē)
 * over the pairs present, divided by Σ (e_t − ē)² over every value present.
 */
export function autocorrelation(values: ReadonlyArray<number | null>, maxLag: number): number[] {
  const present = values.filter((v): v is number => v !== null);
  const mean = present.reduce((s, v) => s + v, 0) / present.length;
  let denominator = 0;
  for (const v of present) denominator += (v - mean) ** 2;
  const out: number[] = [];
  for (let k = 1; k <= maxLag; k++) {
    let sum = 0;
    for (let t = 0; t + k < values.length; t++) {
      const a = values[t];
      const b = values[t + k];
      if (a == null || b == null) continue;
      sum += (a - mean) * (b - mean);
    }
    out.push(denominator > 0 ? sum / denominator : 0);
  }
  return out;
}

export interface SeasonalityFound {
  kind: 'SEASONALITY';
  period: SeasonalPeriod['name'];
  lag: number;
  /** Autocorrelation of the detrended series at the lag. */
  autocorrelation: number;
  /** The 95% bound of a series without autocorrelation: z / √n. */
  bound: number;
  /**
   * Autocorrelation at half the lag (rounded down). A cycle dips there and rises again by the
   * lag; a smooth, persistent series decays instead (r at half the lag above r at the lag).
   */
  halfLagAutocorrelation: number;
  detected: boolean;
  /**
   * Mean detrended deviation at each phase of the period (e.g. Monday … Sunday), for periods of
   * at most 12 buckets; null for longer ones.
   */
  profile: number[] | null;
  points: number;
}

export interface InsufficientData {
  kind: 'INSUFFICIENT_DATA';
  /** What could not be claimed (LINEAR_TREND, MANN_KENDALL, WEEKLY, YEARLY, CHANGEPOINTS). */
  claim: string;
  points: number;
  minimumPoints: number;
  reason: string;
}

export function insufficient(
  claim: string,
  points: number,
  minimumPoints: number,
  reason: string,
): InsufficientData {
  return { kind: 'INSUFFICIENT_DATA', claim, points, minimumPoints, reason };
}

/**
 * Seasonality at each period the bucket allows, on the series detrended by its least-squares
 * line. A period is claimed only with two full cycles (2 × lag buckets), when the
 * autocorrelation at its lag is above the 95% bound z/√n, and when it rises from half the lag to
 * the lag by more than that bound: a smooth, persistent series has high but decaying
 * autocorrelation at every short lag, which is not a cycle.
 */
export function detectSeasonality(
  values: ReadonlyArray<number | null>,
  bucket: TimeBucket,
): Array<SeasonalityFound | InsufficientData> {
  const points = values.filter((v) => v !== null).length;
  const detrended = detrend(values);
  return periodsFor(bucket).map((period) => {
    const minimum = 2 * period.lag;
    if (values.length < minimum || points < minimum)
      return insufficient(
        period.name,
        points,
        minimum,
        `A ${period.name.toLowerCase()} pattern needs two full cycles: ${minimum} buckets.`,
      );
    const r = autocorrelation(detrended, period.lag);
    const rk = r[period.lag - 1]!;
    const half = r[Math.floor(period.lag / 2) - 1]!;
    const bound = Z95 / Math.sqrt(points);
    return {
      kind: 'SEASONALITY',
      period: period.name,
      lag: period.lag,
      autocorrelation: rk,
      bound,
      halfLagAutocorrelation: half,
      detected: rk > bound && rk - half > bound,
      profile: period.lag <= 12 ? phaseProfile(detrended, period.lag) : null,
      points,
    };
  });
}

/** Residuals from the least-squares line over positions (gaps stay gaps). */
export function detrend(values: ReadonlyArray<number | null>): Array<number | null> {
  let n = 0;
  let sx = 0;
  let sy = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    n++;
    sx += i;
    sy += v;
  });
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    sxx += (i - mx) ** 2;
    sxy += (i - mx) * (v - my);
  });
  const slope = sxx > 0 ? sxy / sxx : 0;
  return values.map((v, i) => (v === null ? null : v - (my + slope * (i - mx))));
}

function phaseProfile(values: ReadonlyArray<number | null>, lag: number): number[] {
  const sums = new Array<number>(lag).fill(0);
  const counts = new Array<number>(lag).fill(0);
  values.forEach((v, i) => {
    if (v === null) return;
    sums[i % lag]! += v;
    counts[i % lag]!++;
  });
  return sums.map((s, i) => (counts[i]! > 0 ? s / counts[i]! : 0));
}
