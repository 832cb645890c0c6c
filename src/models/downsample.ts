import type { EpochEvent } from './types';

/** One bucket of consecutive points of a series: its last step, and min, max and last value. */
export interface SeriesPoint {
  step: number;
  min: number;
  max: number;
  last: number;
}

/** A named series of a run's history (loss, valLoss, or one metric), downsampled. */
export interface Series {
  name: string;
  /** Points in the full history, before downsampling. */
  total: number;
  points: SeriesPoint[];
}

/** The most points a series may be asked for. */
export const MAX_SERIES_POINTS = 1000;

/**
 * Splits `points` (in order) into at most `max` buckets of consecutive points of near-equal
 * size, keeping per bucket the step of its last point and the minimum, maximum and last value:
 * the envelope of the curve survives (a spike is not averaged away) and the last point of the
 * series is exact, so live points can be appended after it.
 */
export function downsample(points: Array<{ step: number; value: number }>, max: number) {
  const n = points.length;
  const buckets = Math.min(n, Math.max(1, Math.floor(max)));
  const out: SeriesPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    let min = Number.POSITIVE_INFINITY;
    let maxValue = Number.NEGATIVE_INFINITY;
    for (let i = start; i < end; i++) {
      const v = points[i]!.value;
      if (v < min) min = v;
      if (v > maxValue) maxValue = v;
    }
    const last = points[end - 1]!;
    out.push({ step: last.step, min, max: maxValue, last: last.value });
  }
  return out;
}

/**
 * The series of a run's per-epoch history — `loss`, `valLoss` and each metric — in first-seen
 * order, each downsampled to at most `max` points. Values that are missing or not finite are
 * left out of their series.
 */
export function historySeries(history: readonly unknown[], max: number): Series[] {
  const raw = new Map<string, Array<{ step: number; value: number }>>();
  const add = (name: string, step: number, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    const list = raw.get(name);
    if (list) list.push({ step, value });
    else raw.set(name, [{ step, value }]);
  };
  history.forEach((entry, index) => {
    if (!entry || typeof entry !== 'object') return;
    const e = entry as Partial<EpochEvent>;
    const step = typeof e.step === 'number' ? e.step : index + 1;
    add('loss', step, e.loss);
    add('valLoss', step, e.valLoss);
    for (const [name, value] of Object.entries(e.metrics ?? {})) add(name, step, value);
  });
  return [...raw].map(([name, points]) => ({
    name,
    total: points.length,
    points: downsample(points, max),
  }));
}
