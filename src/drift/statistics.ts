// Drift statistics with Evidently's default recipe (evidently.calculations.stattests): the
// choice of test per column, each test's statistic and p-value, PSI/Jensen–Shannon binning and
// the dataset-level verdict. Pure functions over values or counts: the drift service feeds
// them from SQL profiles, the tests pin them to scipy.

export type DriftTest = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';
export type ColumnKind = 'numeric' | 'categorical';

/** A p-value; `bound` means the true value underflowed and is at most `value`. */
export interface PValue {
  value: number;
  bound: boolean;
}

export interface TestResult {
  test: DriftTest;
  statistic: number;
  pValue: PValue | null;
  threshold: number;
  drifted: boolean;
  /** How the p-value was computed, for tests that have more than one way. */
  method: 'exact' | 'asymptotic' | null;
}

export const REFERENCE_SMALL_ROWS = 1000;
export const FEW_DISTINCT_VALUES = 5;
/** Numeric columns with more distinct reference values than this are binned by Sturges' rule. */
export const PER_VALUE_BUCKETS = 30;
export const EMPTY_BUCKET_SHARE = 0.0001;
export const STD_FLOOR = 0.001;
export const DATASET_DRIFT_SHARE = 0.5;
export const DEFAULT_THRESHOLDS: Record<DriftTest, number> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};
/** Above this many lattice cells the exact KS distribution gives way to the asymptotic one. */
export const KS_EXACT_MAX_CELLS = 10_000_000;

/** Evidently's default test for a column, from its kind, the reference size and the distinct
 * values of reference and current together. */
export function defaultTest(
  kind: ColumnKind,
  referenceRows: number,
  distinctValues: number,
): DriftTest {
  const categorical = kind === 'categorical' || distinctValues <= FEW_DISTINCT_VALUES;
  if (referenceRows <= REFERENCE_SMALL_ROWS) {
    if (!categorical) return 'ks';
    return distinctValues > 2 ? 'chisquare' : 'z';
  }
  return categorical ? 'jensenshannon' : 'wasserstein';
}

/** Whether a statistic crosses its threshold: p-value tests drift below it (KS at or below, as
 * Evidently's `p_value <= threshold`), distances at or above it. */
export function isDrift(test: DriftTest, value: number, threshold: number): boolean {
  if (test === 'ks') return value <= threshold;
  if (test === 'chisquare' || test === 'z') return value < threshold;
  return value >= threshold;
}

/** The one dataset-level rule: the share of drifted columns and whether it reaches the limit. */
export function datasetDrift(
  drifted: readonly boolean[],
  share = DATASET_DRIFT_SHARE,
): { share: number; drifted: boolean; driftedColumns: number; columns: number } {
  const driftedColumns = drifted.filter(Boolean).length;
  const columns = drifted.length;
  const value = columns === 0 ? 0 : driftedColumns / columns;
  return { share: value, drifted: columns > 0 && value >= share, driftedColumns, columns };
}

export function pValue(p: number): PValue {
  if (Number.isNaN(p)) return { value: 1, bound: false };
  if (p <= 0) return { value: Number.MIN_VALUE, bound: true };
  return { value: Math.min(1, p), bound: false };
}

// ---------------------------------------------------------------- special functions

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper regularized incomplete gamma Q(a, x) (series below a+1, Lentz continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return Math.exp(lead) * h;
}

/** P(X ≥ x) for a chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** P(|Z| ≥ |z|) for a standard normal, as erfc(|z|/√2) = Q(1/2, z²/2). */
export function normalTwoSided(z: number): number {
  return gammaQ(0.5, (z * z) / 2);
}

/** Survival of the Kolmogorov limit distribution, P(K > λ). */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    // P(K ≤ λ) = √(2π)/λ Σ exp(−(2k−1)²π²/(8λ²)) converges fast for small λ.
    const w = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let k = 1; k < 100; k++) {
      const term = Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum;
  }
  let sum = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-17 * Math.abs(sum)) break;
  }
  return Math.max(0, 2 * sum);
}

// ---------------------------------------------------------------- Kolmogorov–Smirnov

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Two-sided exact P(D ≥ h/lcm) for samples of n and m: one minus the share of monotone lattice
 * paths from (0,0) to (n,m) that stay strictly inside |i/n − j/m| < h/lcm, every path being
 * equally likely under the null (scipy's `method='exact'`). Counts are integers while the number
 * of paths fits a double exactly, so small samples get the exact rational; beyond that the walk
 * carries probabilities. */
function ksExactSurvival(n: number, m: number, h: number): number {
  const g = gcd(n, m);
  const ng = n / g;
  const mg = m / g;
  const outside = (i: number, j: number) => Math.abs(i * mg - j * ng) >= h;
  let logTotal = 0;
  for (let k = 1; k <= n; k++) logTotal += Math.log((m + k) / k);
  const counting = logTotal < Math.log(2 ** 53);
  let row = new Float64Array(m + 1);
  row[0] = 1;
  for (let j = 1; j <= m; j++) {
    const prev = row[j - 1] as number;
    row[j] = outside(0, j) ? 0 : counting ? prev : prev * ((m - j + 1) / (n + m - j + 1));
  }
  for (let i = 1; i <= n; i++) {
    const next = new Float64Array(m + 1);
    for (let j = 0; j <= m; j++) {
      if (outside(i, j)) continue;
      const up = row[j] as number;
      const left = j > 0 ? (next[j - 1] as number) : 0;
      if (counting) next[j] = up + left;
      else {
        // Probability of the step into (i, j): a uniform path at (a, b) moves along n with
        // probability (n−a)/(n−a+m−b).
        const fromUp = up * ((n - i + 1) / (n - i + 1 + m - j));
        const fromLeft = j > 0 ? left * ((m - j + 1) / (n - i + m - j + 1)) : 0;
        next[j] = fromUp + fromLeft;
      }
    }
    row = next;
  }
  const inside = row[m] as number;
  if (counting) {
    const total = Math.round(Math.exp(logTotal));
    return (total - inside) / total;
  }
  return 1 - inside;
}

/** The KS distance sup |F_ref − F_cur| of two samples; the ECDFs are right-continuous, so tied
 * values enter both at once (scipy's `searchsorted(side='right')`). */
export function ksDistance(reference: readonly number[], current: readonly number[]): number {
  const a = [...reference].sort((x, y) => x - y);
  const b = [...current].sort((x, y) => x - y);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length || j < b.length) {
    const v = Math.min(a[i] ?? Infinity, b[j] ?? Infinity);
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** The KS distance when the reference is known value by value (sorted distinct values with
 * counts) and the current only through, at each reference value, how many current values are
 * below it and at most it: between two reference values the reference ECDF is flat and the
 * current one monotone, so the supremum is reached at those two counts. One grouped pass over a
 * current version of any size gives them. */
export function ksDistanceFromSteps(
  referenceCounts: readonly number[],
  currentBelow: readonly number[],
  currentAtMost: readonly number[],
  currentRows: number,
): number {
  const n = referenceCounts.reduce((s, c) => s + c, 0);
  let cumulative = 0;
  let d = 0;
  for (let k = 0; k < referenceCounts.length; k++) {
    d = Math.max(d, Math.abs(cumulative / n - (currentBelow[k] as number) / currentRows));
    cumulative += referenceCounts[k] as number;
    d = Math.max(d, Math.abs(cumulative / n - (currentAtMost[k] as number) / currentRows));
  }
  return Math.max(d, 1 - (currentAtMost.at(-1) ?? 0) / currentRows);
}

/** Two-sided two-sample KS p-value for a distance `d` between samples of n and m. Exact while
 * the lattice has at most KS_EXACT_MAX_CELLS cells, otherwise the Kolmogorov limit at
 * √(nm/(n+m))·d. Both assume continuous data: with ties the test is conservative. */
export function ksPValue(
  d: number,
  n: number,
  m: number,
): { pValue: PValue; method: 'exact' | 'asymptotic' } {
  if ((n + 1) * (m + 1) <= KS_EXACT_MAX_CELLS) {
    const g = gcd(n, m);
    const lcm = (n / g) * m;
    const h = Math.round(d * lcm);
    if (h === 0) return { pValue: pValue(1), method: 'exact' };
    return { pValue: pValue(ksExactSurvival(n, m, h)), method: 'exact' };
  }
  return {
    pValue: pValue(kolmogorovSurvival(Math.sqrt((n * m) / (n + m)) * d)),
    method: 'asymptotic',
  };
}

export function ksTest(
  reference: readonly number[],
  current: readonly number[],
  threshold = DEFAULT_THRESHOLDS.ks,
): TestResult {
  const d = ksDistance(reference, current);
  return ksResult(d, reference.length, current.length, threshold);
}

export function ksResult(d: number, n: number, m: number, threshold: number): TestResult {
  const { pValue: p, method } = ksPValue(d, n, m);
  return {
    test: 'ks',
    statistic: d,
    pValue: p,
    threshold,
    drifted: isDrift('ks', p.value, threshold),
    method,
  };
}

// ---------------------------------------------------------------- categorical tests

/** Chi-square goodness of fit of current counts against the reference shares scaled to the
 * current size, over the union of categories (aligned arrays, zero where absent). A category the
 * reference never saw has expectation 0: the statistic is infinite and the p-value a bound. */
export function chiSquareTest(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  threshold = DEFAULT_THRESHOLDS.chisquare,
): TestResult {
  const n = referenceCounts.reduce((s, c) => s + c, 0);
  const m = currentCounts.reduce((s, c) => s + c, 0);
  let statistic = 0;
  for (let k = 0; k < referenceCounts.length; k++) {
    const expected = ((referenceCounts[k] as number) * m) / n;
    const observed = currentCounts[k] as number;
    if (expected === 0) statistic += observed === 0 ? 0 : Infinity;
    else statistic += (observed - expected) ** 2 / expected;
  }
  const df = referenceCounts.length - 1;
  const p = pValue(df <= 0 ? 1 : chiSquareSurvival(statistic, df));
  return {
    test: 'chisquare',
    statistic,
    pValue: p,
    threshold,
    drifted: isDrift('chisquare', p.value, threshold),
    method: null,
  };
}

/** Two-proportion z-test with the pooled proportion: `successes` of `rows` in each sample. */
export function zTest(
  referenceSuccesses: number,
  referenceRows: number,
  currentSuccesses: number,
  currentRows: number,
  threshold = DEFAULT_THRESHOLDS.z,
): TestResult {
  const p1 = referenceSuccesses / referenceRows;
  const p2 = currentSuccesses / currentRows;
  const pooled = (referenceSuccesses + currentSuccesses) / (referenceRows + currentRows);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / referenceRows + 1 / currentRows));
  // One value throughout both samples is no evidence of drift (Evidently answers p = 1).
  const z = se === 0 ? 0 : (p1 - p2) / se;
  const p = pValue(normalTwoSided(z));
  return {
    test: 'z',
    statistic: z,
    pValue: p,
    threshold,
    drifted: isDrift('z', p.value, threshold),
    method: null,
  };
}

// ---------------------------------------------------------------- distances

/** Wasserstein-1 distance of two weighted samples: ∫|U − V| over the pooled support. */
export function wasserstein(
  referenceValues: readonly number[],
  currentValues: readonly number[],
  referenceWeights?: readonly number[],
  currentWeights?: readonly number[],
): number {
  const side = (values: readonly number[], weights?: readonly number[]) => {
    const order = values
      .map((_, i) => i)
      .sort((a, b) => (values[a] as number) - (values[b] as number));
    const w = order.map((i) => weights?.[i] ?? 1);
    const total = w.reduce((s, x) => s + x, 0);
    return { v: order.map((i) => values[i] as number), w, total };
  };
  const u = side(referenceValues, referenceWeights);
  const v = side(currentValues, currentWeights);
  const points = [...new Set([...u.v, ...v.v])].sort((a, b) => a - b);
  let i = 0;
  let j = 0;
  let cu = 0;
  let cv = 0;
  let distance = 0;
  for (let k = 0; k < points.length - 1; k++) {
    const x = points[k] as number;
    while (i < u.v.length && u.v[i] === x) cu += u.w[i++] as number;
    while (j < v.v.length && v.v[j] === x) cv += v.w[j++] as number;
    distance += Math.abs(cu / u.total - cv / v.total) * ((points[k + 1] as number) - x);
  }
  return distance;
}

/** Population standard deviation (ddof 0). */
export function populationStd(values: readonly number[]): number {
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  return Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
}

/** Wasserstein-1 divided by the reference's population std, floored at STD_FLOOR. */
export function normalizedWassersteinTest(
  distance: number,
  referenceStd: number,
  threshold = DEFAULT_THRESHOLDS.wasserstein,
): TestResult {
  const statistic = distance / Math.max(referenceStd, STD_FLOOR);
  return {
    test: 'wasserstein',
    statistic,
    pValue: null,
    threshold,
    drifted: isDrift('wasserstein', statistic, threshold),
    method: null,
  };
}

/** Bucket shares with empty buckets replaced by EMPTY_BUCKET_SHARE (Evidently's default, no
 * renormalization afterwards). */
export function bucketShares(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (c === 0 ? EMPTY_BUCKET_SHARE : c / total));
}

/** Jensen–Shannon distance (natural log): √((KL(p‖m) + KL(q‖m))/2), p and q normalized. */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const sp = reference.reduce((s, x) => s + x, 0);
  const sq = current.reduce((s, x) => s + x, 0);
  let divergence = 0;
  for (let k = 0; k < reference.length; k++) {
    const p = (reference[k] as number) / sp;
    const q = (current[k] as number) / sq;
    const mid = (p + q) / 2;
    if (p > 0) divergence += p * Math.log(p / mid);
    if (q > 0) divergence += q * Math.log(q / mid);
  }
  return Math.sqrt(Math.max(0, divergence / 2));
}

/** Population stability index Σ (cur − ref)·ln(cur/ref) over bucket shares. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < reference.length; k++) {
    const p = reference[k] as number;
    const q = current[k] as number;
    sum += (q - p) * Math.log(q / p);
  }
  return sum;
}

export function distanceResult(
  test: 'jensenshannon' | 'psi',
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  threshold = DEFAULT_THRESHOLDS[test],
): TestResult {
  const p = bucketShares(referenceCounts);
  const q = bucketShares(currentCounts);
  const statistic = test === 'psi' ? psi(p, q) : jensenShannon(p, q);
  return {
    test,
    statistic,
    pValue: null,
    threshold,
    drifted: isDrift(test, statistic, threshold),
    method: null,
  };
}

// ---------------------------------------------------------------- binning

/** Sturges' bin edges over reference and current together (numpy's `bins='sturges'`):
 * ⌈log2(n) + 1⌉ equal-width bins between the pooled minimum and maximum; a constant column gets
 * one bin of width 1 around its value. */
export function sturgesEdges(min: number, max: number, rows: number): number[] {
  if (min === max) return [min - 0.5, max + 0.5];
  const bins = Math.ceil(Math.log2(rows) + 1);
  const edges: number[] = [];
  for (let k = 0; k <= bins; k++) edges.push(min + ((max - min) * k) / bins);
  edges[bins] = max;
  return edges;
}

/** Counts per bin, the last bin closed on the right (numpy's `histogram`). */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  const last = edges.length - 2;
  for (const x of values) {
    if (x < (edges[0] as number) || x > (edges[last + 1] as number)) continue;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (x >= (edges[mid] as number)) lo = mid;
      else hi = mid - 1;
    }
    counts[lo] = (counts[lo] as number) + 1;
  }
  return counts;
}
