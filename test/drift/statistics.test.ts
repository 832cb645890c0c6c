import { describe, expect, it } from 'vitest';
import {
  bucketShares,
  chiSquareSurvival,
  chiSquareTest,
  datasetDrift,
  defaultTest,
  distanceResult,
  histogram,
  jensenShannon,
  ksDistance,
  ksDistanceFromSteps,
  ksPValue,
  ksTest,
  normalizedWassersteinTest,
  normalTwoSided,
  populationStd,
  psi,
  sturgesEdges,
  wasserstein,
  zTest,
} from '../../src/drift/statistics';

// Reference values computed with scipy 1.x / numpy (written here, not recomputed).
const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9);

describe('Kolmogorov–Smirnov', () => {
  const x = [0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64];
  const y = [1.51, 0.83, 2.39, 0.29, 1.95, 1.47, -0.12, 1.01, 2.17, 0.64];

  it('pins D and the exact p-value (scipy ks_2samp method="exact")', () => {
    const result = ksTest(x, y);
    close(result.statistic, 0.7);
    expect(result.method).toBe('exact');
    close(result.pValue?.value as number, 0.012340600575894691);
    expect(result.pValue?.bound).toBe(false);
    expect(result.drifted).toBe(true);
  });

  it('exact for unequal sizes: ks_2samp([1..5], [3..10], method="exact")', () => {
    // scipy: statistic 0.625, pvalue 0.12587412587412586 (162 of the 1287 splits)
    const result = ksTest([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8, 9, 10]);
    close(result.statistic, 0.625);
    close(result.pValue?.value as number, 0.12587412587412586);
    expect(result.drifted).toBe(false);
  });

  it('exact past the integer path count (the probability walk): 300 vs 450 values', () => {
    const a = Array.from({ length: 300 }, (_, i) => (((i + 1) * 37) % 101) / 101);
    const b = Array.from({ length: 450 }, (_, i) => (((i + 1) * 53) % 103) / 103 + 0.05);
    const c = Array.from({ length: 450 }, (_, i) => ((((i + 1) * 53) % 103) / 103) * 1.2);
    const same = ksTest(a, b);
    close(same.statistic, 0.06);
    close(same.pValue?.value as number, 0.5225884651715863);
    expect(same.method).toBe('exact');
    const shifted = ksTest(a, c);
    close(shifted.statistic, 0.17333333333333334);
    close(shifted.pValue?.value as number, 3.5529262799257024e-5);
    expect(shifted.drifted).toBe(true);
  });

  it('switches to the asymptotic distribution past the exact limit and says so', () => {
    // scipy.stats.kstwobign.sf(sqrt(1e4*1e4/2e4)*0.02)
    const result = ksPValue(0.02, 10_000, 10_000);
    expect(result.method).toBe('asymptotic');
    close(result.pValue.value, 0.03663105270711935);
    // kstwobign.sf(0.5) and kstwobign.sf(2.5): both branches of the series
    close(ksPValue(0.5 / Math.sqrt(5000), 10_000, 10_000).pValue.value, 0.9639452436648751);
    close(ksPValue(2.5 / Math.sqrt(5000), 10_000, 10_000).pValue.value, 7.453306344157342e-6);
  });

  it('reports an underflowing p-value as a bound, never 0', () => {
    const result = ksPValue(1, 20_000, 20_000);
    expect(result.pValue.value).toBeGreaterThan(0);
    expect(result.pValue.bound).toBe(true);
  });

  it('counts ties at once in both ECDFs and agrees with the step form', () => {
    const ref = [1, 1, 2, 2, 2, 3];
    const cur = [2, 2, 3, 3, 3, 3, 4];
    const d = ksDistance(ref, cur);
    // scipy ks_2samp(ref, cur, method='exact'): statistic 0.5476190476190477, p 0.21212121212121213
    close(d, 0.5476190476190477);
    close(ksTest(ref, cur).pValue?.value as number, 0.21212121212121213);
    const values = [1, 2, 3];
    const counts = [2, 3, 1];
    const below = values.map((v) => cur.filter((c) => c < v).length);
    const atMost = values.map((v) => cur.filter((c) => c <= v).length);
    close(ksDistanceFromSteps(counts, below, atMost, cur.length), d);
    close(
      ksDistanceFromSteps(
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [...x].sort((a, b) => a - b).map((v) => y.filter((c) => c < v).length),
        [...x].sort((a, b) => a - b).map((v) => y.filter((c) => c <= v).length),
        10,
      ),
      0.7,
    );
  });
});

describe('categorical tests', () => {
  it('chi-square of A28/B20/C32 against reference A50/B30/C20', () => {
    const result = chiSquareTest([50, 30, 20], [28, 20, 32]);
    close(result.statistic, 20.266666666666666);
    close(result.pValue?.value as number, 3.973280721455057e-5);
    expect(result.drifted).toBe(true);
  });

  it('a category the reference never saw gives an infinite statistic and a bounded p', () => {
    const result = chiSquareTest([50, 50, 0], [40, 40, 20]);
    expect(result.statistic).toBe(Infinity);
    expect(result.pValue).toEqual({ value: Number.MIN_VALUE, bound: true });
    expect(result.drifted).toBe(true);
  });

  it('chi-square and normal tails (scipy chi2.sf, 2·norm.sf)', () => {
    close(chiSquareSurvival(3.5, 4), 0.477878344488724);
    // deep in the tail the pin is relative
    expect(Math.abs(chiSquareSurvival(150, 3) / 2.6349139284880416e-32 - 1)).toBeLessThan(1e-9);
    close(normalTwoSided(0.3), 0.7641771556220948);
    close(normalTwoSided(-0.3), 0.7641771556220948);
  });

  it('two-proportion z-test 60/200 vs 45/100', () => {
    const result = zTest(60, 200, 45, 100);
    close(result.statistic, -2.567762955065478);
    close(result.pValue?.value as number, 0.010235712391270635);
    expect(result.drifted).toBe(true);
  });

  it('one value throughout is no drift', () => {
    expect(zTest(10, 10, 5, 5).pValue?.value).toBe(1);
  });
});

describe('distances', () => {
  it('normalized Wasserstein of [1,2,2,3,4,7] and [2,3,5,6,9]', () => {
    const ref = [1, 2, 2, 3, 4, 7];
    const cur = [2, 3, 5, 6, 9];
    const result = normalizedWassersteinTest(wasserstein(ref, cur), populationStd(ref));
    close(result.statistic, 0.9397934234884369);
    expect(result.drifted).toBe(true);
    expect(result.pValue).toBeNull();
  });

  it('weights give the same distance as repeated values', () => {
    close(
      wasserstein([1, 2, 3, 4, 7], [2, 3, 5, 6, 9], [1, 2, 1, 1, 1]),
      wasserstein([1, 2, 2, 3, 4, 7], [2, 3, 5, 6, 9]),
    );
  });

  it('floors the reference std at 0.001', () => {
    close(normalizedWassersteinTest(0.0005, 0).statistic, 0.5);
  });

  it('Jensen–Shannon distance (natural log) of counts [50,30,20] vs [28,20,32]', () => {
    close(jensenShannon([50, 30, 20], [28, 20, 32]), 0.15741749457960422);
    close(
      distanceResult('jensenshannon', [50, 30, 20], [28, 20, 32]).statistic,
      0.15741749457960422,
    );
  });

  it('PSI of shares', () => {
    close(psi([0.5, 0.3, 0.2], [0.35, 0.25, 0.4]), 0.20124675554249666);
    close(psi(bucketShares([0.4, 0.4, 0.2, 0]), [0.25, 0.25, 0.25, 0.25]), 2.1073873644524186);
    const result = distanceResult('psi', [40, 40, 20, 0], [25, 25, 25, 25]);
    close(result.statistic, 2.1073873644524186);
    expect(result.drifted).toBe(true);
  });
});

describe('binning and choice of test', () => {
  it('Sturges edges over reference and current together (numpy histogram_bin_edges)', () => {
    // np.histogram_bin_edges(np.arange(1, 101), bins='sturges'): 8 bins from 1 to 100
    const edges = sturgesEdges(1, 100, 100);
    expect(edges).toHaveLength(9);
    close(edges[1] as number, 13.375);
    expect(edges[8]).toBe(100);
    const counts = histogram(
      Array.from({ length: 100 }, (_, i) => i + 1),
      edges,
    );
    // np.histogram(np.arange(1, 101), edges)[0]
    expect(counts).toEqual([13, 12, 13, 12, 12, 13, 12, 13]);
    expect(sturgesEdges(3, 3, 10)).toEqual([2.5, 3.5]);
  });

  it("follows Evidently's defaults", () => {
    expect(defaultTest('numeric', 1000, 6)).toBe('ks');
    expect(defaultTest('numeric', 1000, 5)).toBe('chisquare');
    expect(defaultTest('categorical', 500, 2)).toBe('z');
    expect(defaultTest('categorical', 500, 3)).toBe('chisquare');
    expect(defaultTest('numeric', 1001, 100)).toBe('wasserstein');
    expect(defaultTest('numeric', 1001, 3)).toBe('jensenshannon');
    expect(defaultTest('categorical', 5000, 40)).toBe('jensenshannon');
  });

  it('dataset drift when the drifted share reaches 0.5', () => {
    expect(datasetDrift([true, false])).toMatchObject({ share: 0.5, drifted: true });
    expect(datasetDrift([true, false, false])).toMatchObject({ drifted: false, driftedColumns: 1 });
    expect(datasetDrift([])).toMatchObject({ share: 0, drifted: false });
  });
});
