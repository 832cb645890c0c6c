import { type InsufficientData, insufficient } from './seasonality';

/** Fewest points changepoint detection runs on. */
export const MIN_CHANGEPOINT_POINTS = 10;
/** Fewest points in a segment between changepoints. */
export const MIN_SEGMENT = 2;
/** Normal consistency constant of the MAD: Φ⁻¹(3/4). */
const MAD_SCALE = 0.6744897501960817;

export interface Segment {
  /** First and last index (inclusive) in the series given. */
  start: number;
  end: number;
  mean: number;
}

export interface Changepoints {
  kind: 'CHANGEPOINTS';
  /** Indexes where a new mean starts. */
  indexes: number[];
  segments: Segment[];
  /** Noise scale the costs are divided by: MAD of first differences / (Φ⁻¹(3/4) · √2). */
  sigma: number;
  /** BIC penalty per changepoint: 2 · ln n. */
  penalty: number;
  points: number;
}

function median(sorted: number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/**
 * Robust noise scale of a series whose mean may shift: the MAD of first differences (a shift
 * touches one difference), scaled to a normal standard deviation. Falls back to the sample
 * standard deviation when more than half the differences are equal.
 */
export function noiseScale(y: readonly number[]): number {
  const diffs = y.slice(1).map((v, i) => v - y[i]!);
  const m = median([...diffs].sort((a, b) => a - b));
  const mad = median(diffs.map((d) => Math.abs(d - m)).sort((a, b) => a - b));
  if (mad > 0) return mad / MAD_SCALE / Math.SQRT2;
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  return Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / (y.length - 1));
}

/**
 * Changes in mean by PELT (Killick, Fearnhead & Eckley 2012): minimizes Σ segment cost + β per
 * changepoint exactly, with cost = Σ (y − segment mean)² / σ² (−2 log-likelihood of a normal
 * with known σ, constants dropped) and β = 2 ln n (BIC: a new mean and a location).
 */
export function changepoints(y: readonly number[]): Changepoints | InsufficientData {
  const n = y.length;
  if (n < MIN_CHANGEPOINT_POINTS)
    return insufficient(
      'CHANGEPOINTS',
      n,
      MIN_CHANGEPOINT_POINTS,
      `Changepoints need at least ${MIN_CHANGEPOINT_POINTS} points.`,
    );
  const sigma = noiseScale(y);
  const penalty = 2 * Math.log(n);
  const cumulative = new Float64Array(n + 1);
  const squares = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    cumulative[i + 1] = cumulative[i]! + y[i]!;
    squares[i + 1] = squares[i]! + y[i]! ** 2;
  }
  // Cost of y[s..t) with its own mean.
  const cost = (s: number, t: number) => {
    const sum = cumulative[t]! - cumulative[s]!;
    const sse = squares[t]! - squares[s]! - (sum * sum) / (t - s);
    return Math.max(sse, 0) / (sigma * sigma);
  };
  const single = (): Changepoints => ({
    kind: 'CHANGEPOINTS',
    indexes: [],
    segments: [{ start: 0, end: n - 1, mean: cumulative[n]! / n }],
    sigma,
    penalty,
    points: n,
  });
  if (!(sigma > 0)) return single();
  const best = new Float64Array(n + 1);
  const last = new Int32Array(n + 1);
  best[0] = -penalty;
  let candidates = [0];
  for (let t = MIN_SEGMENT; t <= n; t++) {
    let min = Number.POSITIVE_INFINITY;
    let arg = 0;
    const totals = new Map<number, number>();
    for (const s of candidates) {
      if (t - s < MIN_SEGMENT) continue;
      const total = best[s]! + cost(s, t) + penalty;
      totals.set(s, total);
      if (total < min) {
        min = total;
        arg = s;
      }
    }
    best[t] = min;
    last[t] = arg;
    // Prune: a start that cannot beat the best now never will (the cost is additive).
    candidates = candidates.filter((s) => {
      const total = totals.get(s);
      return total === undefined || total - penalty <= min;
    });
    if (t - MIN_SEGMENT + 1 >= MIN_SEGMENT) candidates.push(t - MIN_SEGMENT + 1);
  }
  const indexes: number[] = [];
  for (let t = n; t > 0; t = last[t]!) if (last[t]! > 0) indexes.unshift(last[t]!);
  if (indexes.length === 0) return single();
  const bounds = [0, ...indexes, n];
  return {
    kind: 'CHANGEPOINTS',
    indexes,
    segments: bounds.slice(1).map((end, i) => ({
      start: bounds[i]!,
      end: end - 1,
      mean: (cumulative[end]! - cumulative[bounds[i]!]!) / (end - bounds[i]!),
    })),
    sigma,
    penalty,
    points: n,
  };
}
