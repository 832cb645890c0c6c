import { gatedQuery, openGate } from '../access/gate';
import type { Filter } from '../access/language';
import type { AuthedContext } from '../context';
import { ForbiddenError, InputError } from '../errors';
import { readableColumn } from './semantics';

/** Rows clustered at most; larger tables are sampled to about this many through the gate. */
export const SAMPLE_TARGET = 5000;
/** Points the silhouette is computed on (it is quadratic). */
const SILHOUETTE_POINTS = 1500;
const MAX_FEATURES = 20;
const MAX_K = 20;
/** Candidates for k when the caller gives none. */
const AUTO_K = [2, 3, 4, 5, 6, 7, 8];
const RESTARTS = 4;
const MAX_ITERATIONS = 300;

/** mulberry32: a small seeded generator, so the same seed gives the same segments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function distance2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

export interface Clustering {
  k: number;
  centroids: number[][];
  labels: Int32Array;
  inertia: number;
}

/** k-means++ seeding (D² sampling) then Lloyd iterations; the best of a few seeded restarts. */
export function kmeans(points: number[][], k: number, random: () => number): Clustering {
  let best: Clustering | null = null;
  for (let r = 0; r < RESTARTS; r++) {
    const run = lloyd(points, seedCentroids(points, k, random));
    if (!best || run.inertia < best.inertia) best = run;
  }
  return best!;
}

function seedCentroids(points: number[][], k: number, random: () => number): number[][] {
  const centroids = [points[Math.floor(random() * points.length)]!.slice()];
  const d2 = points.map((p) => distance2(p, centroids[0]!));
  while (centroids.length < k) {
    const total = d2.reduce((s, v) => s + v, 0);
    let pick = 0;
    if (total > 0) {
      let target = random() * total;
      for (pick = 0; pick < points.length - 1; pick++) {
        target -= d2[pick]!;
        if (target < 0) break;
      }
    } else pick = Math.floor(random() * points.length);
    const c = points[pick]!.slice();
    centroids.push(c);
    for (let i = 0; i < points.length; i++) d2[i] = Math.min(d2[i]!, distance2(points[i]!, c));
  }
  return centroids;
}

function lloyd(points: number[][], start: number[][]): Clustering {
  const k = start.length;
  const dims = points[0]!.length;
  let centroids = start;
  const labels = new Int32Array(points.length).fill(-1);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let changed = false;
    for (let i = 0; i < points.length; i++) {
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const d = distance2(points[i]!, centroids[c]!);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed = true;
      }
    }
    if (!changed) break;
    const sums = Array.from({ length: k }, () => new Array<number>(dims).fill(0));
    const counts = new Array<number>(k).fill(0);
    points.forEach((p, i) => {
      const c = labels[i]!;
      counts[c]!++;
      for (let j = 0; j < dims; j++) sums[c]![j]! += p[j]!;
    });
    // An emptied cluster keeps its centroid (it may win points back next round).
    centroids = sums.map((s, c) => (counts[c]! > 0 ? s.map((v) => v / counts[c]!) : centroids[c]!));
  }
  let inertia = 0;
  points.forEach((p, i) => {
    inertia += distance2(p, centroids[labels[i]!]!);
  });
  return { k, centroids, labels, inertia };
}

/**
 * Mean silhouette: for each point, (b − a) / max(a, b) with a its mean distance to its own
 * cluster and b to the nearest other cluster (0 for a point alone in its cluster).
 */
export function silhouette(points: number[][], labels: ArrayLike<number>, k: number): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const sums = new Array<number>(k).fill(0);
    const counts = new Array<number>(k).fill(0);
    for (let j = 0; j < points.length; j++) {
      if (i === j) continue;
      sums[labels[j]!]! += Math.sqrt(distance2(points[i]!, points[j]!));
      counts[labels[j]!]!++;
    }
    const own = labels[i]!;
    if (counts[own] === 0) continue;
    const a = sums[own]! / counts[own]!;
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++)
      if (c !== own && counts[c]! > 0) b = Math.min(b, sums[c]! / counts[c]!);
    if (Number.isFinite(b) && Math.max(a, b) > 0) total += (b - a) / Math.max(a, b);
  }
  return total / points.length;
}

export interface Distinction {
  feature: string;
  /** Segment mean minus overall mean, in standard deviations. */
  deviation: number;
  direction: 'HIGHER' | 'LOWER';
}

export interface SegmentSummary {
  index: number;
  size: number;
  share: number;
  /** Centroid in the features' own units, in the order of `features`. */
  centroid: number[];
  /** Centroid in standard deviations from the overall mean. */
  standardized: number[];
  /** Features furthest from the overall mean (|deviation| ≥ 0.5, at most 3), largest first. */
  distinguishing: Distinction[];
  description: string;
}

export interface Segments {
  datasetId: string;
  versionId: string;
  features: string[];
  k: number;
  /** k chosen by the best silhouette when none was given. */
  chosenBySilhouette: boolean;
  silhouette: number | null;
  candidates: Array<{ k: number; silhouette: number }>;
  /** Rows the viewer may see with every feature present, before sampling. */
  rowsVisible: number;
  /** Rows clustered. */
  sampleSize: number;
  sampled: boolean;
  seed: number;
  means: number[];
  standardDeviations: number[];
  segments: SegmentSummary[];
}

export interface SegmentsInput {
  datasetId: string;
  version?: number | null;
  features: string[];
  k?: number | null;
  seed?: number | null;
}

/**
 * k-means on standardized features of the rows the viewer may read, through the gate; tables
 * above `SAMPLE_TARGET` rows are read as a repeatable Bernoulli sample in SQL.
 */
export async function datasetSegments(ctx: AuthedContext, input: SegmentsInput): Promise<Segments> {
  const gate = await openGate(ctx, { datasetId: input.datasetId, version: input.version ?? null });
  if (input.features.length === 0 || input.features.length > MAX_FEATURES)
    throw new InputError(`Give 1 to ${MAX_FEATURES} features.`, 'features');
  if (new Set(input.features).size !== input.features.length)
    throw new InputError('features names a column twice.', 'features');
  const columns = input.features.map((f) =>
    readableColumn(gate, f, 'features', { numeric: true, rows: true }),
  );
  if (input.k != null && !(Number.isInteger(input.k) && input.k >= 1 && input.k <= MAX_K))
    throw new InputError(`k is a whole number from 1 to ${MAX_K}.`, 'k');
  const seed = input.seed ?? 42;
  if (!Number.isSafeInteger(seed)) throw new InputError('seed is an integer.', 'seed');
  if (gate.access.mode !== 'ROWS')
    throw new ForbiddenError('Segments read rows; your access to this dataset is aggregates only.');
  const where: Filter = { and: columns.map((c) => ({ column: c.name, isNull: false })) };
  const visible = await gatedQuery(
    ctx,
    gate,
    { where, aggregates: [{ function: 'COUNT', as: 'n' }] },
    { first: 1 },
    { action: 'INSIGHTS' },
  );
  const rowsVisible = Number(visible.rows[0]?.n ?? 0);
  const sampled = rowsVisible > SAMPLE_TARGET;
  // Bernoulli sampling keeps each stored row with probability p before the policy filter, so
  // about p · rowsVisible of the viewer's complete rows come through.
  const percent = sampled ? (100 * SAMPLE_TARGET) / rowsVisible : null;
  const read = await gatedQuery(
    ctx,
    gate,
    { select: columns.map((c) => c.name), where },
    { first: 10_000 },
    { action: 'INSIGHTS', sample: percent === null ? null : { percent, seed } },
  );
  const raw = read.rows.map((r) => columns.map((c) => Number(r[c.name])));
  const n = raw.length;
  const dims = columns.length;
  const minimum = Math.max(input.k ?? 2, 2) * 2;
  if (n < minimum)
    throw new InputError(
      `Segments need at least ${minimum} rows with every feature present; ${n} are visible to you.`,
      'features',
    );
  const means = new Array<number>(dims).fill(0);
  for (const p of raw) for (let j = 0; j < dims; j++) means[j]! += p[j]!;
  for (let j = 0; j < dims; j++) means[j]! /= n;
  const sds = means.map((m, j) =>
    Math.sqrt(raw.reduce((s, p) => s + (p[j]! - m) ** 2, 0) / (n - 1)),
  );
  // A constant feature carries no distance: it stays at 0 (rounding alone must not make it one).
  for (let j = 0; j < dims; j++)
    if (sds[j]! <= 1e-12 * Math.max(1, Math.abs(means[j]!))) sds[j] = 0;
  const points = raw.map((p) => p.map((v, j) => (sds[j]! > 0 ? (v - means[j]!) / sds[j]! : 0)));
  const random = seededRandom(seed);
  const probe = subset(points, SILHOUETTE_POINTS, seededRandom(seed + 1));
  const scored = (c: Clustering) => {
    const labels = probe.map((i) => nearest(points[i]!, c.centroids));
    return silhouette(
      probe.map((i) => points[i]!),
      labels,
      c.k,
    );
  };
  let chosen: Clustering;
  const candidates: Array<{ k: number; silhouette: number }> = [];
  let score: number | null = null;
  if (input.k != null) {
    chosen = kmeans(points, input.k, random);
    score = input.k > 1 ? scored(chosen) : null;
  } else {
    let best: { c: Clustering; s: number } | null = null;
    for (const k of AUTO_K.filter((k) => k * 2 <= n)) {
      const c = kmeans(points, k, random);
      const s = scored(c);
      candidates.push({ k, silhouette: s });
      if (!best || s > best.s) best = { c, s };
    }
    chosen = best!.c;
    score = best!.s;
  }
  const sizes = new Array<number>(chosen.k).fill(0);
  for (const l of chosen.labels) sizes[l]!++;
  const segments = chosen.centroids
    .map((centroid, index) => {
      const distinguishing = centroid
        .map((z, j) => ({
          feature: columns[j]!.name,
          deviation: z,
          direction: (z >= 0 ? 'HIGHER' : 'LOWER') as Distinction['direction'],
        }))
        .filter((d) => Math.abs(d.deviation) >= 0.5)
        .sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation))
        .slice(0, 3);
      return {
        index,
        size: sizes[index]!,
        share: sizes[index]! / n,
        centroid: centroid.map((z, j) => means[j]! + z * sds[j]!),
        standardized: centroid,
        distinguishing,
        description: distinguishing.length
          ? distinguishing
              .map(
                (d) =>
                  `${d.feature} ${d.direction === 'HIGHER' ? 'higher' : 'lower'} (${d.deviation >= 0 ? '+' : ''}${d.deviation.toFixed(1)} sd)`,
              )
              .join(', ')
          : 'close to the overall average',
      };
    })
    .filter((s) => s.size > 0)
    .sort((a, b) => b.size - a.size)
    .map((s, index) => ({ ...s, index }));
  return {
    datasetId: gate.dataset.id,
    versionId: gate.version.id,
    features: columns.map((c) => c.name),
    k: segments.length,
    chosenBySilhouette: input.k == null,
    silhouette: score,
    candidates,
    rowsVisible,
    sampleSize: n,
    sampled,
    seed,
    means,
    standardDeviations: sds,
    segments,
  };
}

function nearest(p: number[], centroids: number[][]): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  centroids.forEach((c, i) => {
    const d = distance2(p, c);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** Up to `size` distinct indexes, chosen by a seeded partial shuffle. */
function subset(points: unknown[], size: number, random: () => number): number[] {
  const indexes = points.map((_, i) => i);
  if (indexes.length <= size) return indexes;
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (indexes.length - i));
    [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
  }
  return indexes.slice(0, size);
}
