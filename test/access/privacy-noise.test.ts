import { describe, expect, it } from 'vitest';
import {
  discreteLaplace,
  discreteLaplaceVariance,
  granularity,
  noisyCount,
  noisyThreshold,
  noisyValue,
  type PrivateRelease,
  releaseGroups,
  seededRandom,
} from '../../src/access/privacy';

const DRAWS = 20_000;

function moments(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

describe('discrete Laplace noise', () => {
  it.each([0.5, 3, 40])(
    'scale %d: integer draws with mean 0 and variance 2p/(1-p)² ≈ 2b²',
    (scale) => {
      const rng = seededRandom(`laplace-${scale}`);
      const xs = Array.from({ length: DRAWS }, () => Number(discreteLaplace(scale, rng)));
      const { mean, variance } = moments(xs);
      const want = discreteLaplaceVariance(scale);
      // Independent reference: for a large scale the discrete variance tends to 2b² − 1/6.
      if (scale >= 3) expect(Math.abs(want - (2 * scale ** 2 - 1 / 6)) / want).toBeLessThan(1e-3);
      // Five standard errors: σ/√N for the mean; σ²·√(5/N) for the variance (kurtosis 6).
      expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(want / DRAWS));
      expect(Math.abs(variance - want)).toBeLessThan(5 * want * Math.sqrt(5 / DRAWS));
      expect(xs.every(Number.isInteger)).toBe(true);
      // Symmetric: as many draws above as below zero, within five standard errors.
      const above = xs.filter((x) => x > 0).length;
      const below = xs.filter((x) => x < 0).length;
      expect(Math.abs(above - below)).toBeLessThan(5 * Math.sqrt(above + below));
    },
  );

  it('has the geometric tail P(Z ≥ k) = p^k / (1 + p)', () => {
    const scale = 2;
    const rng = seededRandom('tail');
    const p = Math.exp(-1 / scale);
    const xs = Array.from({ length: DRAWS }, () => Number(discreteLaplace(scale, rng)));
    for (const k of [1, 3, 6]) {
      const want = p ** k / (1 + p);
      const got = xs.filter((x) => x >= k).length / DRAWS;
      expect(Math.abs(got - want)).toBeLessThan(5 * Math.sqrt((want * (1 - want)) / DRAWS));
    }
  });

  it('a seeded source repeats itself; two seeds differ', () => {
    const draw = (seed: string) => {
      const rng = seededRandom(seed);
      return Array.from({ length: 50 }, () => discreteLaplace(10, rng));
    };
    expect(draw('a')).toEqual(draw('a'));
    expect(draw('a')).not.toEqual(draw('b'));
  });
});

describe('snapped real-valued noise', () => {
  it('lands on a power-of-two grid whatever the input, with the calibrated spread', () => {
    const rng = seededRandom('sum');
    const sensitivity = 100;
    const epsilon = 0.5;
    const g = granularity(sensitivity / epsilon, false);
    expect(Math.log2(g)).toBe(Math.round(Math.log2(g)));
    expect(g).toBeLessThanOrEqual((sensitivity / epsilon / 2 ** 40) * 2);
    const secret = 1234.567891;
    const xs = Array.from({ length: DRAWS }, () => noisyValue(secret, sensitivity, epsilon, rng));
    // Every output is an exact multiple of the grid step: the least significant bits carry no
    // trace of the input (Mironov 2012).
    for (const x of xs.slice(0, 1000)) expect(Number.isInteger(x / g)).toBe(true);
    const b = sensitivity / epsilon;
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean - secret)).toBeLessThan(5 * Math.sqrt((2 * b * b) / DRAWS));
    expect(Math.abs(variance - 2 * b * b)).toBeLessThan(5 * 2 * b * b * Math.sqrt(5 / DRAWS));
  });

  it('keeps integer outputs integer', () => {
    const rng = seededRandom('int');
    for (let i = 0; i < 200; i++)
      expect(Number.isInteger(noisyValue(17, 3, 1, rng, true))).toBe(true);
    for (let i = 0; i < 200; i++) expect(noisyCount(2, 0.1, rng)).toBeGreaterThanOrEqual(0);
  });
});

describe('the noisy threshold', () => {
  it('is 1 + ⌈b ln(1/(δ(1+p)))⌉ and lets a one-row group through with probability ≤ δ', () => {
    // ε = 1, δ = 1e-5: b = 1, p = e^-1, ln(1/(1e-5 · 1.3679)) = 11.20 → 1 + 12.
    expect(noisyThreshold(1, 1e-5)).toBe(13);
    // ε = 0.5: b = 2, p = e^-0.5, ln(1/(1e-5 · 1.6065)) = 11.04 → 1 + ⌈22.08⌉.
    expect(noisyThreshold(0.5, 1e-5)).toBe(24);
    const delta = 0.01;
    const tau = noisyThreshold(1, delta);
    const rng = seededRandom('threshold');
    const passed = Array.from({ length: DRAWS }, () => noisyCount(1, 1, rng) >= tau).filter(
      Boolean,
    ).length;
    expect(passed / DRAWS).toBeLessThanOrEqual(
      delta + 5 * Math.sqrt((delta * (1 - delta)) / DRAWS),
    );
  });
});

describe('releaseGroups', () => {
  const release: PrivateRelease = {
    epsilon: 3,
    delta: 1e-5,
    outputs: [
      { kind: 'key', value: 'o0', rank: 'r0' },
      { kind: 'count', value: 'o1' },
      { kind: 'mean', sum: 'o2', count: 'o3', lower: 0, upper: 10 },
    ],
    groupCount: 'n',
    minGroupSize: 1,
    order: [{ output: 1, desc: true }],
  };

  it('drops small groups, noises and bounds the rest, and sorts on the noisy values', () => {
    const rng = seededRandom('groups');
    // ε = 3 split four ways: threshold share 0.75 → τ = 1 + ⌈1.333 ln(1/(1e-5 (1 + e^-0.75)))⌉.
    const raw = [
      { o0: 'tiny', r0: 1, n: 2, o1: 2, o2: 3, o3: 2 },
      { o0: 'big', r0: 2, n: 1000, o1: 1000, o2: -5000 + 1000 * 4, o3: 1000 },
      { o0: 'bigger', r0: 3, n: 5000, o1: 5000, o2: 0, o3: 5000 },
    ];
    const rows = releaseGroups(raw, release, rng);
    expect(rows.map((r) => r[0])).toEqual(['bigger', 'big']);
    for (const r of rows) {
      expect(r[2]).toBeGreaterThanOrEqual(0);
      expect(r[2]).toBeLessThanOrEqual(10);
    }
    expect(Math.abs((rows[1]![2] as number) - 4)).toBeLessThan(0.1);
    expect(Math.abs((rows[0]![1] as number) - 5000)).toBeLessThan(100);
  });
});
