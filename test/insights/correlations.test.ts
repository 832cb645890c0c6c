import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correlationPValue, regularizedBeta } from '../../src/insights/correlations';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { close, loadVega } from './insights-fixtures';
import { CARS_CORRELATIONS, WEATHER_CORRELATIONS } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const ids: Record<string, string> = {};

const CORRELATIONS = `query($id: ID!) { datasetInsights(datasetId: $id) {
  correlations { columns pearson spearman pairs { x y n pearson pearsonP spearman spearmanP } } } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'correlations');
  ids.cars = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  ids.weather = (await loadVega(server, owner.token, 'seattle-weather.csv')).datasetId;
}, 120_000);

afterAll(() => server?.close());

async function correlations(id: string) {
  const res = await server.gql(CORRELATIONS, { id }, owner.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights.correlations;
}

/** p-values compared relatively: some are far below 1e-100. */
function closeP(actual: number, expected: number) {
  if (expected === 0) expect(actual).toBe(0);
  else expect(Math.abs(actual - expected) / expected).toBeLessThan(1e-9);
}

function pin(matrix: any, reference: typeof CARS_CORRELATIONS) {
  expect(matrix.pairs).toHaveLength(reference.length);
  for (const ref of reference) {
    const pair = matrix.pairs.find((p: any) => p.x === ref.x && p.y === ref.y);
    expect(pair, `${ref.x} × ${ref.y}`).toBeDefined();
    expect(pair.n).toBe(ref.n);
    close(pair.pearson, ref.pearson);
    close(pair.spearman, ref.spearman);
    closeP(pair.pearsonP, ref.pearsonP);
    closeP(pair.spearmanP, ref.spearmanP);
    const i = matrix.columns.indexOf(ref.x);
    const j = matrix.columns.indexOf(ref.y);
    expect(matrix.pearson[i][j]).toBe(pair.pearson);
    expect(matrix.pearson[j][i]).toBe(pair.pearson);
    expect(matrix.spearman[i][j]).toBe(pair.spearman);
    expect(matrix.pearson[i][i]).toBe(1);
  }
}

describe('correlations pinned to scipy.stats.pearsonr / spearmanr', () => {
  it('cars: pairwise over rows where both are present (Miles_per_Gallon and Horsepower have nulls), ties ranked by their mean position', async () => {
    const matrix = await correlations(ids.cars!);
    expect(matrix.columns).toEqual([
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Horsepower',
      'Weight_in_lbs',
      'Acceleration',
    ]);
    pin(matrix, CARS_CORRELATIONS);
  });

  it('seattle-weather', async () => {
    const matrix = await correlations(ids.weather!);
    expect(matrix.columns).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind']);
    pin(matrix, WEATHER_CORRELATIONS);
  });

  it('p-values of the t distribution at the edges (scipy.stats.t.sf, scipy.special.betainc)', () => {
    // 2·t.sf(|t|, df) with t = r√(df/(1−r²)): scipy 1.17.1.
    closeP(correlationPValue(0.5, 10)!, 0.14111328125000006);
    closeP(correlationPValue(-0.1, 1000)!, 0.0015441161074010938);
    expect(correlationPValue(1, 10)).toBe(0);
    expect(correlationPValue(0.3, 2)).toBeNull();
    closeP(regularizedBeta(0.3, 2.5, 0.5), 0.018927124071945658);
  });
});
