import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seasonalAnomalies } from '../../src/insights/anomalies';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { close, INSIGHTS, loadVega, uploadVersion } from './insights-fixtures';
import {
  CARS_ANOMALIES,
  CARS_SUMMARY,
  SEASONAL_CSV,
  SEASONAL_REFERENCE,
  WEATHER_ANOMALIES,
  WEATHER_SUMMARY,
} from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const ids: Record<string, string> = {};

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'anomalies');
  ids.cars = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  ids.weather = (await loadVega(server, owner.token, 'seattle-weather.csv')).datasetId;
  const created = await server.gql(CREATE, { input: { name: 'monthly-sales' } }, owner.token);
  ids.sales = created.data!.createDataset.id;
  await uploadVersion(server, owner.token, ids.sales!, 'sales.csv', SEASONAL_CSV);
}, 120_000);

afterAll(() => server?.close());

async function insights(id: string) {
  const res = await server.gql(INSIGHTS, { id }, owner.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights;
}

type Ref = {
  count: number;
  mean: number;
  std: number;
  median: number;
  mad: number;
  percentiles: readonly number[];
};

/** Each rule's bounds from the reference statistics. */
function bounds(ref: Ref) {
  const sigma = ref.std * Math.sqrt((ref.count - 1) / ref.count);
  const q1 = ref.percentiles[3]!;
  const q3 = ref.percentiles[5]!;
  return {
    ZSCORE: [ref.mean - 3 * sigma, ref.mean + 3 * sigma],
    TUKEY: [q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)],
    MAD: [ref.median - (3.5 * ref.mad) / 0.6745, ref.median + (3.5 * ref.mad) / 0.6745],
  } as Record<string, [number, number]>;
}

function pinRules(
  anomalies: any[],
  summary: Record<string, Ref>,
  counts: Record<string, Record<string, number>>,
) {
  for (const [column, byRule] of Object.entries(counts)) {
    const mine = anomalies.filter((a) => a.column === column);
    // A rule whose scale is zero (MAD of Cylinders) is not applied, as in the reference.
    expect(mine.map((a) => a.rule).sort()).toEqual(Object.keys(byRule).sort());
    const b = bounds(summary[column]!);
    for (const a of mine) {
      expect(a.count, `${column} ${a.rule}`).toBe(byRule[a.rule]);
      close(a.lower, b[a.rule]![0]!);
      close(a.upper, b[a.rule]![1]!);
      expect(a.rows).toHaveLength(Math.min(20, a.count));
      for (const row of a.rows) expect(row[column] < a.lower || row[column] > a.upper).toBe(true);
    }
  }
}

describe('anomalies', () => {
  it('cars: z-score, Tukey fences and MAD per numeric column, counts as scipy/numpy, rows outside the bounds', async () => {
    const result = await insights(ids.cars!);
    pinRules(result.anomalies, CARS_SUMMARY.columns, CARS_ANOMALIES);
    const tukey = result.anomalies.find(
      (a: any) => a.column === 'Horsepower' && a.rule === 'TUKEY',
    );
    // Whole rows come back, largest first.
    expect(Object.keys(tukey.rows[0]).sort()).toEqual(
      [
        'Acceleration',
        'Cylinders',
        'Displacement',
        'Horsepower',
        'Miles_per_Gallon',
        'Name',
        'Origin',
        'Weight_in_lbs',
        'Year',
      ].sort(),
    );
    const hp = tukey.rows.map((r: any) => r.Horsepower);
    expect(hp).toEqual([...hp].sort((a, b) => b - a));
  });

  it('seattle-weather: rule counts, and a monthly decomposition of every measure with no seasonal anomaly', async () => {
    const result = await insights(ids.weather!);
    pinRules(result.anomalies, WEATHER_SUMMARY.columns, WEATHER_ANOMALIES);
    expect(result.seasonalAnomalies.map((s: any) => s.measure)).toEqual([
      'precipitation',
      'temp_max',
      'temp_min',
      'wind',
    ]);
    for (const s of result.seasonalAnomalies) {
      expect(s).toMatchObject({ time: 'date', unit: 'month', period: 12, points: 36 });
      expect(s.anomalies).toEqual([]);
    }
  });

  it('a generated monthly series: the two injected breaks, decomposition pinned to numpy', async () => {
    const result = await insights(ids.sales!);
    const s = result.seasonalAnomalies.find((x: any) => x.measure === 'sales');
    expect(s).toMatchObject({ time: 'month', unit: 'month', period: 12 });
    expect(s.points).toBe(SEASONAL_REFERENCE.points);
    expect(s.anomalies.map((a: any) => a.bucket)).toEqual(
      SEASONAL_REFERENCE.anomalies.map((a) => a.bucket),
    );
    s.anomalies.forEach((a: any, i: number) => {
      const ref = SEASONAL_REFERENCE.anomalies[i]!;
      close(a.value, ref.value);
      close(a.trend, ref.trend);
      close(a.seasonal, ref.seasonal);
      close(a.residual, ref.residual);
      close(a.score, ref.score);
    });
  });

  it('a series shorter than two seasons and one point is no claim', () => {
    const short = Array.from({ length: 24 }, (_, i) => ({
      bucket: `${2020 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-01`,
      value: i,
    }));
    expect(seasonalAnomalies(short, 'month')).toBeNull();
  });
});
