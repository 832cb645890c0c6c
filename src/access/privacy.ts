import { createHash, randomFillSync } from 'node:crypto';

/**
 * Differential privacy for aggregate-only reads: the noise, the noisy threshold and the release
 * of a grouped result. Everything here is pure but for the random source, which production
 * takes from node:crypto and tests inject seeded.
 *
 * Noise is integer (discrete Laplace, sampled exactly with integer arithmetic after Canonne,
 * Kamath and Steinke 2020) and lands on a grid of powers of two, so the set of values an output
 * can take does not depend on the data: the floating-point attack on textbook Laplace noise
 * (Mironov 2012), which reads the secret from which doubles can appear, has nothing to read.
 */

/** Fills a buffer with uniform random bytes. */
export type RandomBytes = (buffer: Uint8Array) => void;

/** Uniform random integers from a byte source, read a block at a time. */
export class Random {
  private block = new Uint8Array(4096);
  private at = this.block.length;

  constructor(private readonly fill: RandomBytes) {}

  private byte(): number {
    if (this.at === this.block.length) {
      this.fill(this.block);
      this.at = 0;
    }
    return this.block[this.at++]!;
  }

  /** Uniform in [0, n), by rejection (no modulo bias). */
  below(n: bigint): bigint {
    if (n <= 1n) return 0n;
    const bits = (n - 1n).toString(2).length;
    const bytes = Math.ceil(bits / 8);
    const mask = (1n << BigInt(bits)) - 1n;
    for (;;) {
      let x = 0n;
      for (let i = 0; i < bytes; i++) x = (x << 8n) | BigInt(this.byte());
      x &= mask;
      if (x < n) return x;
    }
  }
}

/** The production source: the operating system's CSPRNG. */
export function cryptoRandom(): Random {
  return new Random((buffer) => randomFillSync(buffer));
}

/** A deterministic source for tests only: SHA-256 in counter mode over a seed. */
export function seededRandom(seed: string): Random {
  let counter = 0;
  return new Random((buffer) => {
    for (let i = 0; i < buffer.length; i += 32) {
      const digest = createHash('sha256').update(`${seed}:${counter++}`).digest();
      buffer.set(digest.subarray(0, Math.min(32, buffer.length - i)), i);
    }
  });
}

/** Bernoulli(num/den), exactly. */
function bernoulli(rng: Random, num: bigint, den: bigint): boolean {
  return rng.below(den) < num;
}

/** Bernoulli(exp(-num/den)), exactly (CKS 2020, Algorithm 1). */
function bernoulliExp(rng: Random, num: bigint, den: bigint): boolean {
  let n = num;
  while (n > den) {
    if (!bernoulliExp(rng, 1n, 1n)) return false;
    n -= den;
  }
  let k = 1n;
  while (bernoulli(rng, n, den * k)) k++;
  return k % 2n === 1n;
}

/** Fixed denominator of the rational scales below: 2^20. */
const SCALE_DENOMINATOR = 1n << 20n;

/**
 * The scale actually used for a requested one: the next rational t / 2^20 at or above it, so
 * rounding only ever adds noise.
 */
export function rationalScale(scale: number): { t: bigint; s: bigint; value: number } {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`Bad noise scale ${scale}.`);
  const t = BigInt(Math.ceil(scale * Number(SCALE_DENOMINATOR) * (1 + 2 ** -40)));
  return { t, s: SCALE_DENOMINATOR, value: Number(t) / Number(SCALE_DENOMINATOR) };
}

/**
 * One draw of discrete Laplace noise, P(z) ∝ exp(-|z| / scale) over the integers
 * (CKS 2020, Algorithm 2), with integer arithmetic only.
 */
export function discreteLaplace(scale: number, rng: Random): bigint {
  const { t, s } = rationalScale(scale);
  for (;;) {
    const u = rng.below(t);
    if (!bernoulliExp(rng, u, t)) continue;
    let v = 0n;
    while (bernoulliExp(rng, 1n, 1n)) v++;
    const y = (u + t * v) / s;
    const negative = bernoulli(rng, 1n, 2n);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** Variance of discrete Laplace noise of this scale: 2p / (1 - p)², p = exp(-1/scale). */
export function discreteLaplaceVariance(scale: number): number {
  const p = Math.exp(-1 / rationalScale(scale).value);
  return (2 * p) / (1 - p) ** 2;
}

/**
 * Grid step for a real-valued output with noise of this scale: the smallest power of two at
 * least scale / 2^40 (as Google's secure noise does), never below 1 for integer outputs. Fine
 * enough to add no visible error, coarse enough that noisy values stay exact multiples of it.
 */
export function granularity(scale: number, integer: boolean): number {
  const g = 2 ** Math.ceil(Math.log2(scale / 2 ** 40));
  return integer ? Math.max(1, g) : g;
}

/**
 * A count (sensitivity 1) plus discrete Laplace noise of scale 1/ε. Never negative: clamping
 * at zero is post-processing and costs no privacy.
 */
export function noisyCount(count: number, epsilon: number, rng: Random): number {
  const z = discreteLaplace(1 / epsilon, rng);
  const noisy = BigInt(Math.round(count)) + z;
  return noisy < 0n ? 0 : Number(noisy);
}

/**
 * A real value with the given sensitivity, made ε-DP: rounded to the grid, plus discrete
 * Laplace noise in grid units. Rounding can move two neighbouring inputs one more step apart,
 * so the noise is calibrated to sensitivity + one step.
 */
export function noisyValue(
  value: number,
  sensitivity: number,
  epsilon: number,
  rng: Random,
  integer = false,
): number {
  const g = granularity(sensitivity / epsilon, integer);
  const steps = BigInt(Math.round(value / g));
  const z = discreteLaplace((sensitivity + g) / (epsilon * g), rng);
  return Number(steps + z) * g;
}

/**
 * The smallest noisy row count a group needs to be shown when the count's noise is discrete
 * Laplace of scale b = 1/ε (ε: the threshold's share): τ = 1 + ⌈b · ln(1 / (δ (1 + p)))⌉ with
 * p = exp(-1/b). A group that only one row creates then appears with probability at most δ
 * (P(Z ≥ k) = p^k / (1 + p)), which is what makes showing which groups exist (ε, δ)-DP.
 */
export function noisyThreshold(epsilon: number, delta: number): number {
  const b = rationalScale(1 / epsilon).value;
  const p = Math.exp(-1 / b);
  return 1 + Math.ceil(b * Math.log(1 / (delta * (1 + p))));
}

/** How one output of a differentially private grouped query is released. */
export type Release =
  /** A group key: clear, its sort rank in the named raw column. */
  | { kind: 'key'; value: string; rank: string | null }
  /** A count (rows, non-null values or distinct values): sensitivity 1. */
  | { kind: 'count'; value: string }
  /** A sum of values clamped to [lower, upper]: sensitivity max(|lower|, |upper|). */
  | { kind: 'sum'; value: string; lower: number; upper: number; integer: boolean }
  /**
   * A mean, as Google's BoundedMean: noisy Σ(x − mid) over a noisy count, each with its share,
   * so the sum's sensitivity is (upper − lower) / 2; the result is clamped to [lower, upper].
   */
  | { kind: 'mean'; sum: string; count: string; lower: number; upper: number };

/** What the compiler hands the gate for a differentially private grouped query. */
export interface PrivateRelease {
  /** ε the whole query spends (one row changes one group only, so groups do not add up). */
  epsilon: number;
  delta: number;
  /** Per output, in order. */
  outputs: Release[];
  /** The raw column with each group's exact row count, for the threshold; null: no groups. */
  groupCount: string | null;
  /** Smallest group size the policy asks for besides the noisy threshold. */
  minGroupSize: number;
  /** Output order: by output index, then group order from SQL. */
  order: Array<{ output: number; desc: boolean }>;
}

/** How many noisy measurements a query makes, among which its ε is split evenly. */
export function measurements(release: Omit<PrivateRelease, 'epsilon' | 'delta'>): number {
  let n = release.groupCount === null ? 0 : 1;
  for (const o of release.outputs) n += o.kind === 'key' ? 0 : o.kind === 'mean' ? 2 : 1;
  return n;
}

/**
 * Releases the groups of a query from their exact, clamped aggregates: drops groups whose
 * noisy row count is under the threshold, noises every aggregate with its share of ε, and
 * sorts on the noisy values. The exact values never leave this function.
 */
export function releaseGroups(
  raw: ReadonlyArray<Record<string, unknown>>,
  release: PrivateRelease,
  rng: Random,
): unknown[][] {
  const share = release.epsilon / Math.max(1, measurements(release));
  const threshold = Math.max(release.minGroupSize, noisyThreshold(share, release.delta));
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  const out: Array<{ values: unknown[]; ranks: number[] }> = [];
  for (const row of raw) {
    if (
      release.groupCount !== null &&
      noisyCount(num(row[release.groupCount]), share, rng) < threshold
    )
      continue;
    const values: unknown[] = [];
    const ranks: number[] = [];
    for (const o of release.outputs) {
      ranks.push(o.kind === 'key' && o.rank ? num(row[o.rank]) : 0);
      switch (o.kind) {
        case 'key':
          values.push(row[o.value] ?? null);
          break;
        case 'count':
          values.push(noisyCount(num(row[o.value]), share, rng));
          break;
        case 'sum':
          values.push(
            noisyValue(
              num(row[o.value]),
              Math.max(Math.abs(o.lower), Math.abs(o.upper)),
              share,
              rng,
              o.integer,
            ),
          );
          break;
        default: {
          const mid = (o.lower + o.upper) / 2;
          const sum = noisyValue(num(row[o.sum]), (o.upper - o.lower) / 2, share, rng);
          const count = noisyCount(num(row[o.count]), share, rng);
          values.push(Math.min(o.upper, Math.max(o.lower, mid + sum / Math.max(1, count))));
        }
      }
    }
    out.push({ values, ranks });
  }
  if (release.order.length) {
    // Group keys sort by their rank from SQL (the database's collation); aggregates by their
    // noisy value. Array sort is stable, so SQL's group order breaks the remaining ties.
    out.sort((a, b) => {
      for (const { output, desc } of release.order) {
        const key = release.outputs[output]!.kind === 'key';
        const x = key ? a.ranks[output]! : (a.values[output] as number);
        const y = key ? b.ranks[output]! : (b.values[output] as number);
        if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
      }
      return 0;
    });
  }
  return out.map((r) => r.values);
}
