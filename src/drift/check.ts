import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { datasetColumns } from '../../db/schema/datasets';
import { type DriftMonitor, driftProfiles, type WatchedColumn } from '../../db/schema/drift';
import { NUMERIC } from '../access/compile';
import { type Gate, openGate } from '../access/gate';
import {
  type ColumnProfile,
  gatedProfile,
  MAX_PROFILE_VALUES,
  type Profile,
  type ProfileRequest,
} from '../access/profile';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import {
  chiSquareTest,
  DEFAULT_THRESHOLDS,
  type DriftTest,
  datasetDrift,
  defaultTest,
  distanceResult,
  ksDistanceFromSteps,
  ksResult,
  normalizedWassersteinTest,
  PER_VALUE_BUCKETS,
  sturgesEdges,
  type TestResult,
  wasserstein,
  zTest,
} from './statistics';

/** Both distributions on shared bins, ready to chart. */
export interface DriftBins {
  /** Numeric columns: bin edges (one more than the counts). */
  edges: number[] | null;
  /** Categorical columns: one label per bin. */
  labels: string[] | null;
  reference: number[];
  current: number[];
}

export interface ColumnDrift extends TestResult {
  column: string;
  kind: 'numeric' | 'categorical';
  referenceRows: number;
  currentRows: number;
  bins: DriftBins;
}

export interface DriftResult {
  columns: ColumnDrift[];
  share: number;
  drifted: boolean;
  currentRows: number;
}

/** Fine bins over the reference range when its values are too many to keep one by one. */
const FINE_BINS = 999;
const OTHER = '(other)';

/** A weighted sample: values and how many rows hold each. */
interface Support {
  values: number[];
  weights: number[];
}

/**
 * Checks the current version against the monitor's reference, reading both through the gate as
 * `ctx`'s viewer (the monitor's owner). The reference profile is computed once per version and
 * reader and kept; the current version is read in one grouped pass.
 */
export async function computeDrift(
  ctx: AuthedContext,
  monitor: DriftMonitor,
  currentVersionId: string,
): Promise<DriftResult> {
  const reference = await openGate(ctx, {
    datasetId: monitor.datasetId,
    versionId: monitor.referenceVersionId,
  });
  const current = await openGate(ctx, {
    datasetId: monitor.datasetId,
    versionId: currentVersionId,
  });
  const watched = watchedColumns(reference, current, monitor.columns);
  if (watched.length === 0)
    throw new InputError(
      'No column to watch: none is readable in clear in both versions.',
      'columns',
    );
  const { columns, currentRows } = await driftBetween(ctx, reference, current, watched);
  const verdict = datasetDrift(
    columns.map((c) => c.drifted),
    monitor.driftShare,
  );
  return { columns, share: verdict.share, drifted: verdict.drifted, currentRows };
}

/**
 * Per column drift of `current` against `reference` (two versions of one dataset, or of two
 * datasets), both read through the gate as `ctx`'s viewer: what monitors check and what
 * dataset comparisons report.
 */
export async function driftBetween(
  ctx: AuthedContext,
  reference: Gate,
  current: Gate,
  watched: readonly WatchedColumn[],
): Promise<{ columns: ColumnDrift[]; currentRows: number }> {
  const numeric = new Set(
    watched.filter((w) => NUMERIC.includes(typeOf(reference, w.column))).map((w) => w.column),
  );
  // A numeric column with more distinct values (as measured when the version was written) than
  // a profile keeps is summarized — count, range, moments — instead of grouped by value, which
  // would sort a million values to keep a thousand; it is then read on fine bins.
  const many = await manyValued(ctx, reference, [...numeric]);
  const refValues = await cachedProfile(
    ctx,
    reference,
    watched.map((w) =>
      many.has(w.column) ? { column: w.column, summary: true } : { column: w.column },
    ),
  );
  // Numeric columns with more distinct values than a profile keeps get fine fixed bins over the
  // reference range, computed once like the values.
  const fine = new Map<string, number[]>();
  for (const p of refValues.columns)
    if (numeric.has(p.name) && p.truncated && p.min !== null && p.max !== null)
      fine.set(p.name, sturgesLike(p.min, p.max));
  const refFine =
    fine.size > 0
      ? await cachedProfile(
          ctx,
          reference,
          [...fine].map(([column, edges]) => ({ column, edges })),
        )
      : null;
  const edgesOf = (column: string, profile: ColumnProfile): number[] =>
    fine.get(column) ?? (profile.values ?? []).map((v) => Number(v.value)).sort((a, b) => a - b);
  const requests: ProfileRequest[] = watched.flatMap((w) => {
    const ref = refValues.columns.find((c) => c.name === w.column)!;
    if (!numeric.has(w.column)) return [{ column: w.column }];
    const edges = edgesOf(w.column, ref);
    if (edges.length === 0) return [{ column: w.column }];
    // On fine bins the counts around the edges are all a check needs of the current version.
    return fine.has(w.column)
      ? [{ column: w.column, edges }]
      : [{ column: w.column }, { column: w.column, edges }];
  });
  const cur = await gatedProfile(ctx, current, requests, 'DRIFT_CHECK');
  const columns = watched.map((w): ColumnDrift => {
    const ref = refValues.columns.find((c) => c.name === w.column)!;
    const curValues =
      cur.columns.find((c) => c.name === w.column && c.values) ??
      cur.columns.find((c) => c.name === w.column)!;
    const curBuckets = cur.columns.find((c) => c.name === w.column && c.buckets) ?? null;
    const n = ref.count;
    const m = curValues.count;
    const keys = unionKeys(ref, curValues);
    const distinct = ref.truncated || curValues.truncated ? Infinity : keys.length;
    const isNumeric = numeric.has(w.column);
    const test: DriftTest =
      w.test ?? defaultTest(isNumeric ? 'numeric' : 'categorical', n, distinct);
    const threshold = w.threshold ?? DEFAULT_THRESHOLDS[test];
    const refCounts = keys.map((k) => countOf(ref, k));
    const curCounts = keys.map((k) => countOf(curValues, k));
    const base = { column: w.column, referenceRows: n, currentRows: m };
    if (n === 0 || m === 0)
      throw new InputError(`Column "${w.column}" has no values in one of the versions.`, 'columns');
    if (!isNumeric || !curBuckets || ref.min === null || ref.max === null) {
      return {
        ...base,
        kind: 'categorical',
        ...categoricalTest(test, threshold, refCounts, curCounts, w.column),
        bins: { edges: null, labels: keys, reference: refCounts, current: curCounts },
      };
    }
    const edges = curBuckets.buckets!.edges;
    const refSupport = fine.has(w.column)
      ? bucketSupport(refFine!.columns.find((c) => c.name === w.column)!, ref.min, ref.max)
      : { values: edges, weights: edges.map((e) => countOf(ref, String(e), e)) };
    const curSupport = bucketSupport(
      curBuckets,
      curBuckets.min ?? ref.min,
      curBuckets.max ?? ref.max,
    );
    const low = Math.min(ref.min, curBuckets.min ?? ref.min);
    const high = Math.max(ref.max, curBuckets.max ?? ref.max);
    const chartEdges = sturgesEdges(low, high, n + m);
    const bins: DriftBins = {
      edges: chartEdges,
      labels: null,
      reference: weightedHistogram(refSupport, chartEdges),
      current: weightedHistogram(curSupport, chartEdges),
    };
    let result: TestResult;
    if (test === 'ks') {
      if (fine.has(w.column))
        throw new InputError(
          `Column "${w.column}": KS needs a reference of at most ${MAX_PROFILE_VALUES} distinct values.`,
          'columns',
        );
      const b = curBuckets.buckets!;
      const below: number[] = [];
      const atMost: number[] = [];
      let seen = b.below;
      for (let k = 0; k < edges.length; k++) {
        below.push(seen);
        seen += b.at[k] as number;
        atMost.push(seen);
        seen += b.after[k] as number;
      }
      result = ksResult(ksDistanceFromSteps(refSupport.weights, below, atMost, m), n, m, threshold);
    } else if (test === 'wasserstein') {
      result = normalizedWassersteinTest(
        wasserstein(refSupport.values, curSupport.values, refSupport.weights, curSupport.weights),
        ref.std ?? 0,
        threshold,
      );
    } else if ((test === 'psi' || test === 'jensenshannon') && distinct > PER_VALUE_BUCKETS) {
      result = distanceResult(test, bins.reference, bins.current, threshold);
    } else {
      result = categoricalTest(test, threshold, refCounts, curCounts, w.column);
    }
    return { ...base, kind: 'numeric', ...result, bins };
  });
  return { columns, currentRows: cur.rows };
}

/** The columns among `names` whose version holds more distinct values than a profile keeps. */
async function manyValued(ctx: AuthedContext, gate: Gate, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const positions = new Map(
    gate.access.columns.filter((c) => names.includes(c.name)).map((c) => [c.position, c.name]),
  );
  const rows = await ctx.db
    .select({ position: datasetColumns.position, distinct: datasetColumns.distinctEstimate })
    .from(datasetColumns)
    .where(
      and(
        eq(datasetColumns.versionId, gate.version.id),
        inArray(datasetColumns.position, [...positions.keys()]),
      ),
    );
  return new Set(
    rows
      .filter((r) => (r.distinct ?? 0) > MAX_PROFILE_VALUES)
      .map((r) => positions.get(r.position)!),
  );
}

function typeOf(gate: Gate, column: string) {
  return gate.access.columns.find((c) => c.name === column)!.type;
}

/** The monitor's columns, or every column the reader reads in clear in both versions. */
function watchedColumns(
  reference: Gate,
  current: Gate,
  columns: WatchedColumn[] | null,
): WatchedColumn[] {
  if (columns && columns.length > 0) return columns;
  const clear = (g: Gate) =>
    new Set(g.access.columns.filter((c) => c.rule === 'CLEAR').map((c) => c.name));
  const inCurrent = clear(current);
  return [...clear(reference)].filter((c) => inCurrent.has(c)).map((column) => ({ column }));
}

function categoricalTest(
  test: DriftTest,
  threshold: number,
  refCounts: number[],
  curCounts: number[],
  column: string,
): TestResult {
  if (test === 'chisquare') return chiSquareTest(refCounts, curCounts, threshold);
  if (test === 'psi' || test === 'jensenshannon')
    return distanceResult(test, refCounts, curCounts, threshold);
  if (test === 'z') {
    if (refCounts.length > 2)
      throw new InputError(`Column "${column}" has more than two values: no z-test.`, 'columns');
    const n = refCounts.reduce((s, c) => s + c, 0);
    const m = curCounts.reduce((s, c) => s + c, 0);
    return zTest(refCounts[0] ?? 0, n, curCounts[0] ?? 0, m, threshold);
  }
  throw new InputError(`Column "${column}" is not numeric: ${test} needs numbers.`, 'columns');
}

/** Every value either side holds, in a stable order, with the rest of a truncated side as one
 * extra bucket. */
function unionKeys(a: ColumnProfile, b: ColumnProfile): string[] {
  const keys = new Set<string>();
  for (const v of [...(a.values ?? []), ...(b.values ?? [])]) keys.add(v.value);
  const sorted = [...keys].sort();
  return a.truncated || b.truncated ? [...sorted, OTHER] : sorted;
}

function countOf(p: ColumnProfile, key: string, numericValue?: number): number {
  const values = p.values ?? [];
  if (key === OTHER) return p.count - values.reduce((s, v) => s + v.count, 0);
  const hit =
    numericValue === undefined
      ? values.find((v) => v.value === key)
      : values.find((v) => Number(v.value) === numericValue);
  return hit?.count ?? 0;
}

/** Counts around edges as a weighted sample: values at an edge sit on it, values between two
 * edges at their midpoint, values outside at the midpoint with the column's extreme. */
function bucketSupport(profile: ColumnProfile, min: number, max: number): Support {
  const b = profile.buckets!;
  const values: number[] = [];
  const weights: number[] = [];
  const push = (v: number, w: number) => {
    if (w > 0) {
      values.push(v);
      weights.push(w);
    }
  };
  const first = b.edges[0] as number;
  const last = b.edges.at(-1) as number;
  push((Math.min(min, first) + first) / 2, b.below);
  for (let k = 0; k < b.edges.length; k++) {
    const e = b.edges[k] as number;
    push(e, b.at[k] as number);
    const next = b.edges[k + 1];
    push(
      next === undefined ? (Math.max(max, last) + last) / 2 : (e + next) / 2,
      b.after[k] as number,
    );
  }
  return { values, weights };
}

function weightedHistogram(s: Support, edges: number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  const last = edges.length - 2;
  for (let i = 0; i < s.values.length; i++) {
    const x = s.values[i] as number;
    let k = 0;
    while (k < last && x >= (edges[k + 1] as number)) k++;
    counts[k] = (counts[k] as number) + (s.weights[i] as number);
  }
  return counts;
}

function sturgesLike(min: number, max: number): number[] {
  if (min === max) return [min];
  return Array.from({ length: FINE_BINS + 1 }, (_, k) =>
    k === FINE_BINS ? max : min + ((max - min) * k) / FINE_BINS,
  );
}

/**
 * A reference profile, computed once per version, reader's row access and request: versions
 * are immutable, so a stored profile stays true. The key covers what the reader's policy lets
 * through (the row filter and the attributes it may name), so two readers under different
 * policies never share one.
 */
async function cachedProfile(
  ctx: AuthedContext,
  gate: Gate,
  requests: ProfileRequest[],
): Promise<Profile> {
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        gate.access.rowFilter,
        gate.access.rowFilter ? ctx.viewer.attributes : null,
        gate.access.columns.filter((c) => c.rule === 'CLEAR').map((c) => c.name),
        requests,
      ]),
    )
    .digest('hex');
  const [hit] = await ctx.db
    .select()
    .from(driftProfiles)
    .where(and(eq(driftProfiles.versionId, gate.version.id), eq(driftProfiles.key, key)));
  if (hit) return hit.profile as Profile;
  const profile = await gatedProfile(ctx, gate, requests, 'DRIFT_PROFILE');
  await ctx.db
    .insert(driftProfiles)
    .values({ versionId: gate.version.id, key, profile })
    .onConflictDoNothing();
  return profile;
}
