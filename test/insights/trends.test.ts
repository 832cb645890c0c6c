import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changepoints, MIN_SEGMENT, noiseScale } from '../../src/insights/changepoints';
import { autocorrelation, detectSeasonality, detrend } from '../../src/insights/seasonality';
import { linearTrend, periodOverPeriod, robustTrend } from '../../src/insights/trends';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

/**
 * Reference values computed outside the project with python3 and mpmath (40 digits): OLS with
 * the t distribution through the regularized incomplete beta, the t quantile by root finding,
 * Theil–Sen by sorting every pairwise slope, Mann–Kendall S, its tie-corrected variance, z and
 * erfc p-value, autocorrelations of the least-squares residuals, and changepoints by the O(n²)
 * optimal-partitioning dynamic programme (no pruning) with the same cost and penalty.
 * Inputs: vega-datasets stocks.csv (AAPL, 123 monthly prices, x = 0…122) and seattle-weather.csv
 * (temp_max, 1,461 days; and its 48 monthly means).
 */
const REF = {
  aaplOls: {
    slope: 1.53225542041248,
    intercept: -28.737092840283243,
    standardError: 0.08065918923822105,
    tStatistic: 18.996662809082736,
    pValue: 4.0958621089240507e-38,
    lower: 1.3725692804455856,
    upper: 1.6919415603793746,
    rSquared: 0.7488965965904718,
    degreesOfFreedom: 121,
  },
  aaplRobust: {
    theilSenSlope: 1.4003157894736842,
    theilSenIntercept: -29.605052631578957,
    s: 5191,
    variance: 209250.33333333334,
    z: 11.345777922205832,
    pValue: 7.78309763317502e-30,
    tau: 0.6918565906970545,
  },
  aaplChangepoints: {
    indexes: [
      8, 53, 58, 67, 70, 80, 86, 88, 91, 93, 96, 99, 101, 104, 106, 111, 114, 116, 118, 121,
    ],
    sigma: 3.805539839502336,
    penalty: 9.624368710744834,
  },
  tmaxOls: {
    slope: 0.0025404104336572636,
    intercept: 14.584583203416509,
    standardError: 0.00045120058124570073,
    tStatistic: 5.630335020055939,
    pValue: 2.1540723588379894e-8,
    lower: 0.0016553393132434048,
    upper: 0.0034254815540711225,
    rSquared: 0.021265618929534175,
    degreesOfFreedom: 1459,
  },
  tmaxRobust: {
    theilSenSlope: 0.0027093596059113334,
    theilSenIntercept: 13.378325123152706,
    s: 107833,
    variance: 346663883.0,
    z: 5.79153068479201,
    pValue: 6.974781277063073e-9,
    tau: 0.1011063917564438,
  },
  tmaxAcf: {
    3: 0.8119591792602113,
    7: 0.7705997250451551,
    182: -0.6430767495835413,
    365: 0.577941275541852,
    bound: 0.051277044220520755,
  },
  monthMeansFirst3: [7.054838709677419, 9.275862068965518, 9.55483870967742],
  monthOls: {
    slope: 0.0780538483739615,
    intercept: 14.569013371676336,
    standardError: 0.0685234874637502,
    tStatistic: 1.1390816676581585,
    pValue: 0.2605663628113358,
    lower: -0.05987677796443195,
    upper: 0.21598447471235493,
    rSquared: 0.027432884450846264,
    degreesOfFreedom: 46,
  },
  monthAcf: {
    6: -0.7927786833011261,
    12: 0.7227687424192637,
    bound: 0.2828964335190429,
  },
  monthChangepoints: {
    indexes: [3, 6, 9, 16, 21, 28, 34, 40, 46],
    sigma: 2.720996494146965,
    penalty: 7.742402021815782,
  },
};

/** |actual − expected| ≤ 1e-9 · |expected| (relative: p-values reach 1e-38). */
function close(actual: number | null | undefined, expected: number, tolerance = 1e-9) {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    tolerance * Math.max(Math.abs(expected), Number.MIN_VALUE),
  );
}

function expectFields(actual: Record<string, unknown>, expected: Record<string, number>) {
  for (const [key, value] of Object.entries(expected)) {
    if (Number.isInteger(value) && key !== 'variance') expect(actual[key], key).toBe(value);
    else close(actual[key] as number, value);
  }
}

const dataDir = join(createRequire(import.meta.url).resolve('vega-datasets'), '../../data');
const stocksCsv = readFileSync(join(dataDir, 'stocks.csv'), 'utf8');
const weatherCsv = readFileSync(join(dataDir, 'seattle-weather.csv'), 'utf8');
const aapl = stocksCsv
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','))
  .filter((f) => f[0] === 'AAPL')
  .map((f) => Number(f[2]));
const weather = weatherCsv
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const tmax = weather.map((f) => Number(f[2]));
const points = (ys: number[]) => ys.map((y, x) => ({ x, y }));

describe('trend statistics against independent references', () => {
  it('OLS slope, interval and t-test p on AAPL and Seattle temp_max', () => {
    expect(aapl).toHaveLength(123);
    expectFields(linearTrend(points(aapl)) as unknown as Record<string, unknown>, REF.aaplOls);
    expectFields(linearTrend(points(tmax)) as unknown as Record<string, unknown>, REF.tmaxOls);
  });

  it('Theil–Sen and Mann–Kendall (S, tie-corrected variance, z, p)', () => {
    expectFields(robustTrend(points(aapl)) as unknown as Record<string, unknown>, REF.aaplRobust);
    // temp_max has many ties: the correction changes the variance.
    expectFields(robustTrend(points(tmax)) as unknown as Record<string, unknown>, REF.tmaxRobust);
  });

  it('autocorrelation of the detrended series and the seasonality verdicts', () => {
    const r = autocorrelation(detrend(tmax), 365);
    for (const lag of [3, 7, 182, 365] as const) close(r[lag - 1], REF.tmaxAcf[lag]);
    const [weekly, yearly] = detectSeasonality(tmax, 'DAY');
    // High but decaying autocorrelation (a smooth series) is not a weekly cycle…
    expect(weekly).toMatchObject({ kind: 'SEASONALITY', period: 'WEEKLY', detected: false });
    close((weekly as { bound: number }).bound, REF.tmaxAcf.bound);
    // …while the year dips at half a year and comes back.
    expect(yearly).toMatchObject({ kind: 'SEASONALITY', period: 'YEARLY', detected: true });
    close((yearly as { autocorrelation: number }).autocorrelation, REF.tmaxAcf[365]);
    close((yearly as { halfLagAutocorrelation: number }).halfLagAutocorrelation, REF.tmaxAcf[182]);
  });

  it('PELT finds the optimum that exhaustive optimal partitioning finds', () => {
    const found = changepoints(aapl);
    expect(found.kind).toBe('CHANGEPOINTS');
    if (found.kind !== 'CHANGEPOINTS') return;
    expect(found.indexes).toEqual(REF.aaplChangepoints.indexes);
    close(found.sigma, REF.aaplChangepoints.sigma);
    close(found.penalty, REF.aaplChangepoints.penalty);
    // A clean step is found exactly where it is.
    const step = [...Array(30).fill(10), ...Array(30).fill(20)].map((v, i) => v + (i % 3) - 1);
    const stepFound = changepoints(step);
    expect(stepFound).toMatchObject({ kind: 'CHANGEPOINTS', indexes: [30] });
  });

  it('PELT reaches the optimal partitioning cost on random series (property)', () => {
    // Exhaustive optimal partitioning over every segmentation with segments of ≥ 2 points.
    const optimum = (y: number[]) => {
      const sigma = noiseScale(y);
      const cost = (s: number, t: number) => {
        const part = y.slice(s, t);
        const mean = part.reduce((a, b) => a + b, 0) / part.length;
        return part.reduce((a, v) => a + (v - mean) ** 2, 0) / sigma ** 2;
      };
      const penalty = 2 * Math.log(y.length);
      const best: number[] = [-penalty];
      for (let t = 1; t <= y.length; t++) {
        best[t] = Number.POSITIVE_INFINITY;
        for (let s = 0; s <= t - MIN_SEGMENT; s++)
          if (s === 0 || s >= MIN_SEGMENT)
            best[t] = Math.min(best[t]!, best[s]! + cost(s, t) + penalty);
      }
      return { value: best[y.length]!, cost, penalty, sigma };
    };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 10, maxLength: 40 }),
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 40, maxLength: 40 }),
        (levels, noise) => {
          const y = levels.map((l, i) => l * 10 + noise[i]! / 10);
          const found = changepoints(y);
          const exact = optimum(y);
          if (found.kind !== 'CHANGEPOINTS' || !(exact.sigma > 0)) return;
          const bounds = [0, ...found.indexes, y.length];
          let total = -exact.penalty;
          for (let i = 1; i < bounds.length; i++)
            total += exact.cost(bounds[i - 1]!, bounds[i]!) + exact.penalty;
          expect(Math.abs(total - exact.value)).toBeLessThanOrEqual(
            1e-9 * Math.max(1, exact.value),
          );
        },
      ),
      { numRuns: 200, seed: 12 },
    );
  });

  it('reports too-short series as insufficient data, never as a line', () => {
    expect(linearTrend(points([1, 2]))).toEqual({
      kind: 'INSUFFICIENT_DATA',
      claim: 'LINEAR_TREND',
      points: 2,
      minimumPoints: 3,
      reason: expect.any(String),
    });
    expect(robustTrend(points([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toMatchObject({
      kind: 'INSUFFICIENT_DATA',
      claim: 'MANN_KENDALL',
      points: 9,
      minimumPoints: 10,
    });
    expect(changepoints([1, 2, 3])).toMatchObject({
      kind: 'INSUFFICIENT_DATA',
      minimumPoints: 10,
    });
    expect(detectSeasonality([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], 'DAY')).toEqual([
      expect.objectContaining({ kind: 'INSUFFICIENT_DATA', claim: 'WEEKLY', minimumPoints: 14 }),
      expect.objectContaining({ kind: 'INSUFFICIENT_DATA', claim: 'YEARLY', minimumPoints: 730 }),
    ]);
    expect(periodOverPeriod([3, null, 5])).toEqual({
      current: 5,
      previous: 3,
      change: 2,
      relativeChange: 2 / 3,
    });
  });
});

const TREND = `query($id: ID!, $input: TrendInput!) { trend(datasetId: $id, input: $input) {
  __typename
  ... on Trend { timeZone series { start label index value }
    linear { __typename ... on LinearTrend { points slope intercept standardError lower upper tStatistic degreesOfFreedom pValue rSquared }
      ... on InsufficientData { claim points minimumPoints reason } }
    robust { __typename ... on RobustTrend { points theilSenSlope theilSenIntercept s variance z pValue tau }
      ... on InsufficientData { claim points minimumPoints } }
    periodOverPeriod { current previous change relativeChange }
    seasonality { __typename ... on Seasonality { period lag autocorrelation halfLagAutocorrelation bound detected profile }
      ... on InsufficientData { claim points minimumPoints } }
    changepoints { __typename ... on Changepoints { starts sigma penalty segments { start end mean } }
      ... on InsufficientData { claim minimumPoints } } }
  ... on Error { code message } } }`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

async function load(name: string, csv: string, typeOverrides: unknown[] = []) {
  const created = await server.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename ... on Dataset { id } } }`,
    { input: { name } },
    owner.token,
  );
  const datasetId = created.data!.createDataset.id as string;
  const uploaded = await server.upload(
    `mutation($id: ID!, $file: File!, $options: UploadOptions) { uploadDatasetVersion(datasetId: $id, file: $file, options: $options) {
      __typename ... on DatasetVersion { id } ... on Error { message } } }`,
    { id: datasetId, options: { typeOverrides } },
    { name: `${name}.csv`, content: csv },
    owner.token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  return datasetId;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'trends');
}, 60_000);

afterAll(() => server?.close());

describe('Query.trend through the gate', () => {
  it('buckets Seattle temp_max by day and month in SQL and matches the references', async () => {
    const id = await load('seattle-weather', weatherCsv, [{ column: 'date', type: 'DATE' }]);
    const daily = await server.gql(
      TREND,
      { id, input: { timeColumn: 'date', measure: 'temp_max', aggregate: 'AVG', bucket: 'DAY' } },
      owner.token,
    );
    const day = daily.data?.trend;
    expect(day?.__typename, JSON.stringify(daily)).toBe('Trend');
    expect(day.series).toHaveLength(1461);
    expect(day.series.map((b: { value: number }) => b.value)).toEqual(tmax);
    expect(day.series[0]).toEqual({
      start: '2012-01-01',
      label: '2012-01-01',
      index: 0,
      value: 12.8,
    });
    expectFields(day.linear, REF.tmaxOls);
    expectFields(day.robust, REF.tmaxRobust);
    expect(day.seasonality.map((s: { detected: boolean }) => s.detected)).toEqual([false, true]);
    expect(day.periodOverPeriod).toMatchObject({ current: tmax[1460], previous: tmax[1459] });

    const monthly = await server.gql(
      TREND,
      { id, input: { timeColumn: 'date', measure: 'temp_max', aggregate: 'AVG', bucket: 'MONTH' } },
      owner.token,
    );
    const month = monthly.data?.trend;
    expect(month?.__typename, JSON.stringify(monthly)).toBe('Trend');
    expect(month.series).toHaveLength(48);
    for (const [i, v] of REF.monthMeansFirst3.entries()) close(month.series[i].value, v);
    expectFields(month.linear, REF.monthOls);
    const [yearly] = month.seasonality;
    expect(yearly).toMatchObject({
      __typename: 'Seasonality',
      period: 'YEARLY',
      lag: 12,
      detected: true,
    });
    close(yearly.autocorrelation, REF.monthAcf[12]);
    close(yearly.halfLagAutocorrelation, REF.monthAcf[6]);
    close(yearly.bound, REF.monthAcf.bound);
    expect(yearly.profile).toHaveLength(12);
    expect(month.changepoints.__typename).toBe('Changepoints');
    expect(month.changepoints.starts).toEqual(
      REF.monthChangepoints.indexes.map((i) => month.series[i].label),
    );
    close(month.changepoints.sigma, REF.monthChangepoints.sigma);
  });

  it('buckets timestamps in the calendar of the time zone named', async () => {
    const id = await load(
      'events',
      'at,amount\n2026-03-02T03:00:00Z,1\n2026-03-02T12:00:00Z,2\n2026-03-03T04:30:00Z,4\n',
      [{ column: 'at', type: 'TIMESTAMP' }],
    );
    const run = async (timeZone: string | null) => {
      const res = await server.gql(
        TREND,
        {
          id,
          input: { timeColumn: 'at', measure: 'amount', aggregate: 'SUM', bucket: 'DAY', timeZone },
        },
        owner.token,
      );
      expect(res.data?.trend.__typename, JSON.stringify(res)).toBe('Trend');
      return res.data!.trend;
    };
    const utc = await run(null);
    expect(utc.timeZone).toBe('UTC');
    expect(utc.series).toEqual([
      { start: '2026-03-02T00:00:00.000Z', label: '2026-03-02', index: 0, value: 3 },
      { start: '2026-03-03T00:00:00.000Z', label: '2026-03-03', index: 1, value: 4 },
    ]);
    const ny = await run('America/New_York');
    expect(ny.series).toEqual([
      { start: '2026-03-01T05:00:00.000Z', label: '2026-03-01', index: 0, value: 1 },
      { start: '2026-03-02T05:00:00.000Z', label: '2026-03-02', index: 1, value: 6 },
    ]);
    // Two points: no line, no test, no pattern — each says what it would need.
    expect(ny.linear).toMatchObject({
      __typename: 'InsufficientData',
      points: 2,
      minimumPoints: 3,
    });
    expect(ny.robust).toMatchObject({ __typename: 'InsufficientData', minimumPoints: 10 });
    expect(ny.changepoints).toMatchObject({ __typename: 'InsufficientData', minimumPoints: 10 });
    expect(ny.seasonality.map((s: { __typename: string }) => s.__typename)).toEqual([
      'InsufficientData',
      'InsufficientData',
    ]);
    const bad = await server.gql(
      TREND,
      {
        id,
        input: {
          timeColumn: 'at',
          measure: 'amount',
          bucket: 'DAY',
          timeZone: "UTC'; drop table x; --",
        },
      },
      owner.token,
    );
    expect(bad.data?.trend).toMatchObject({ __typename: 'InputError', code: 'BAD_USER_INPUT' });
    const notTime = await server.gql(
      TREND,
      { id, input: { timeColumn: 'amount', measure: 'amount', bucket: 'DAY' } },
      owner.token,
    );
    expect(notTime.data?.trend.message).toMatch(/not a DATE or TIMESTAMP/);
  });
});
