/** A seeded pseudo-random stream (sfc32), so splits, shuffles and initial weights are reproducible. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A 31-bit integer, for seeding tfjs ops that take a numeric seed. */
  seed(): number;
}

/**
 * A stream named by `parts` under `seed`: the split, each candidate and each refit get their own,
 * so adding a candidate does not change what the others draw.
 */
export function createRng(seed: number, ...parts: Array<string | number>): Rng {
  let h1 = 0x811c9dc5 ^ Math.floor(seed);
  let h2 = 0x9e3779b9 ^ Math.floor(seed / 0x100000000);
  for (const ch of `${parts.join('\u0000')}\u0000${seed}`) {
    const c = ch.codePointAt(0)!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  let a = h1 >>> 0;
  let b = h2 >>> 0;
  let c = (h1 ^ h2) >>> 0;
  let d = 1;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 0x100000000;
  };
  for (let i = 0; i < 15; i++) next();
  return {
    next,
    int: (n) => Math.floor(next() * n),
    seed: () => Math.floor(next() * 0x7fffffff),
  };
}

/** Fisher–Yates shuffle of `0..n-1` drawn from `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
