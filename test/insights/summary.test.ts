import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOf, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { close, INSIGHTS, loadVega } from './insights-fixtures';
import { CARS_ORIGIN, CARS_SUMMARY, STOCKS_SUMMARY, WEATHER_SUMMARY } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'insights');
  ids.cars = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  ids.weather = (await loadVega(server, owner.token, 'seattle-weather.csv')).datasetId;
  ids.stocks = (await loadVega(server, owner.token, 'stocks.csv')).datasetId;
}, 120_000);

afterAll(() => server?.close());

interface Reference {
  count: number;
  nulls: number;
  distinct: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  std: number;
  mad: number;
  skewness: number;
  kurtosis: number;
  percentiles: readonly number[];
  histogram: readonly number[];
  edges: readonly number[];
}

async function insights(id: string) {
  const res = await server.gql(INSIGHTS, { id }, owner.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights;
}

function pin(column: any, ref: Reference) {
  expect(column.kind).toBe('NUMERIC');
  expect(column.count).toBe(ref.count);
  expect(column.nulls).toBe(ref.nulls);
  expect(column.distinct).toBe(ref.distinct);
  close(column.min, ref.min);
  close(column.max, ref.max);
  close(column.mean, ref.mean);
  close(column.median, ref.median);
  close(column.std, ref.std);
  close(column.mad, ref.mad);
  close(column.skewness, ref.skewness);
  close(column.kurtosis, ref.kurtosis);
  expect(column.percentiles.map((p: any) => p.p)).toEqual([
    0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99,
  ]);
  for (const [i, p] of column.percentiles.entries()) close(p.value, ref.percentiles[i]!);
  close(column.q1, ref.percentiles[3]!);
  close(column.q3, ref.percentiles[5]!);
  close(column.iqr, ref.percentiles[5]! - ref.percentiles[3]!);
  // Sturges' bins, as numpy's histogram(bins='sturges'): same edges, same counts.
  expect(column.histogram).toHaveLength(ref.histogram.length);
  column.histogram.forEach((b: any, k: number) => {
    close(b.lower, ref.edges[k]!, 1e-12);
    close(b.upper, ref.edges[k + 1]!, 1e-12);
    expect(b.count).toBe(ref.histogram[k]);
    close(b.share, ref.histogram[k]! / ref.count);
  });
}

describe('dataset insights: per-column statistics pinned to numpy/scipy', () => {
  it('cars: every numeric column, and Origin’s categories with shares', async () => {
    const result = await insights(ids.cars!);
    expect(result.status).toBe('READY');
    expect(result.rows).toBe(CARS_SUMMARY.rows);
    for (const [name, ref] of Object.entries(CARS_SUMMARY.columns))
      pin(
        result.columns.find((c: any) => c.name === name),
        ref,
      );
    const origin = result.columns.find((c: any) => c.name === 'Origin');
    expect(origin.kind).toBe('CATEGORICAL');
    expect(origin.distinct).toBe(3);
    const total = Object.values(CARS_ORIGIN).reduce((s, n) => s + n, 0);
    const expected = Object.entries(CARS_ORIGIN)
      .sort((a, b) => b[1] - a[1])
      .map(([value, count]) => ({ value, count, share: count / total }));
    expect(origin.topCategories.map((c: any) => c.value)).toEqual(expected.map((e) => e.value));
    origin.topCategories.forEach((c: any, i: number) => {
      expect(c.count).toBe(expected[i]!.count);
      close(c.share, expected[i]!.share);
    });
    const year = result.columns.find((c: any) => c.name === 'Year');
    expect(year.kind).toBe('TEMPORAL');
    expect(year.earliest).toBe('1970-01-01');
    expect(year.latest).toBe('1982-01-01');
    expect(year.mean).toBeNull();
  });

  it('seattle-weather and stocks', async () => {
    const weather = await insights(ids.weather!);
    expect(weather.rows).toBe(WEATHER_SUMMARY.rows);
    for (const [name, ref] of Object.entries(WEATHER_SUMMARY.columns))
      pin(
        weather.columns.find((c: any) => c.name === name),
        ref,
      );
    const stocks = await insights(ids.stocks!);
    expect(stocks.rows).toBe(STOCKS_SUMMARY.rows);
    pin(
      stocks.columns.find((c: any) => c.name === 'price'),
      STOCKS_SUMMARY.columns.price,
    );
  });

  it('is computed once per version and visibility, then read from the cache', async () => {
    const first = await insights(ids.cars!);
    const again = await insights(ids.cars!);
    expect(again.computedAt).toBe(first.computedAt);
    expect(again.columns).toEqual(first.columns);
    expect(await countOf(server, 'select count(*) as n from insights_cache')).toBe(3);
  });
});

describe('a version above PESO_INSIGHTS_JOB_ROWS', () => {
  let jobServer: TestServer;
  let jobOwner: Awaited<ReturnType<typeof signUpOwner>>;
  let carsId: string;

  beforeAll(async () => {
    jobServer = await startTestServer({ PESO_INSIGHTS_JOB_ROWS: '100', PESO_WORKERS: '1' });
    jobOwner = await signUpOwner(jobServer, 'insights-job');
    carsId = (await loadVega(jobServer, jobOwner.token, 'cars.json')).datasetId;
  }, 120_000);

  afterAll(() => jobServer?.close());

  it('is computed by a job with progress, then served from the cache', async () => {
    const first = await jobServer.gql(INSIGHTS, { id: carsId }, jobOwner.token);
    expect(first.errors, JSON.stringify(first.errors)).toBeUndefined();
    expect(first.data!.datasetInsights.status).toBe('COMPUTING');
    expect(first.data!.datasetInsights.columns).toBeNull();
    expect(first.data!.datasetInsights.progress.totalSteps).toBe(3);
    let result: any;
    for (;;) {
      const res = await jobServer.gql(INSIGHTS, { id: carsId }, jobOwner.token);
      result = res.data!.datasetInsights;
      if (result.status !== 'COMPUTING') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(result.status).toBe('READY');
    expect(result.rows).toBe(CARS_SUMMARY.rows);
    pin(
      result.columns.find((c: any) => c.name === 'Horsepower'),
      CARS_SUMMARY.columns.Horsepower,
    );
    expect(
      await countOf(
        jobServer,
        `select count(*) as n from insights_runs where status = 'SUCCEEDED'`,
      ),
    ).toBe(1);
  });
});
