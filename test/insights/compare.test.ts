import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mannWhitney } from '../../src/insights/compare';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { carsSecondVersion, close, loadVega, uploadVersion } from './insights-fixtures';
import { CARS_COMPARISON } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let carsId: string;
let otherId: string;

const COMPARE = `query($a: DatasetVersionSelector!, $b: DatasetVersionSelector!) {
  compareDatasets(a: $a, b: $b) {
    a { number } b { number } rowsA rowsB
    added { name type } removed { name type } retyped { name from to }
    columns { column
      shift { test statistic pValue threshold drifted }
      mean { a b change t df p }
      median { a b change u p } } } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'compare');
  carsId = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  await uploadVersion(server, owner.token, carsId, 'cars.json', carsSecondVersion());
  otherId = (await loadVega(server, owner.token, 'cars.json', 'cars-copy')).datasetId;
}, 120_000);

afterAll(() => server?.close());

async function compare(a: object, b: object) {
  const res = await server.gql(COMPARE, { a, b }, owner.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.compareDatasets;
}

describe('compareDatasets', () => {
  it('two versions: schema diff, drift statistics, Welch and Mann–Whitney pinned to scipy', async () => {
    const c = await compare({ datasetId: carsId, version: 1 }, { datasetId: carsId, version: 2 });
    expect(c.a.number).toBe(1);
    expect(c.b.number).toBe(2);
    expect(c.rowsA).toBe(406);
    expect(c.rowsB).toBe(CARS_COMPARISON.rowsB);
    expect(c.added).toEqual([{ name: 'Rating', type: 'INTEGER' }]);
    expect(c.removed).toEqual([{ name: 'Acceleration', type: 'FLOAT' }]);
    expect(c.retyped).toEqual([]);
    for (const name of [
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Horsepower',
      'Weight_in_lbs',
    ] as const) {
      const ref = CARS_COMPARISON[name];
      const col = c.columns.find((x: any) => x.column === name);
      close(col.mean.a, ref.meanA);
      close(col.mean.b, ref.meanB);
      close(col.mean.change, ref.meanB - ref.meanA);
      close(col.mean.t, ref.t);
      close(col.mean.df, ref.df);
      close(col.mean.p, ref.p);
      close(col.median.a, ref.medianA);
      close(col.median.b, ref.medianB);
      close(col.median.u, ref.u);
      close(col.median.p, ref.mwP);
      if (name === 'Cylinders') {
        // Five values: the drift recipe's chi-square.
        expect(col.shift.test).toBe('chisquare');
        close(col.shift.statistic, CARS_COMPARISON.Cylinders.chi);
        close(col.shift.pValue, CARS_COMPARISON.Cylinders.chiP);
      } else {
        expect(col.shift.test).toBe('ks');
        close(col.shift.statistic, ref.ks);
        close(col.shift.pValue, ref.ksP);
      }
    }
    const origin = c.columns.find((x: any) => x.column === 'Origin');
    expect(origin.mean).toBeNull();
    expect(origin.shift.test).toBe('chisquare');
    close(origin.shift.statistic, CARS_COMPARISON.Origin.chi);
    expect(Math.abs(origin.shift.pValue / CARS_COMPARISON.Origin.chiP - 1)).toBeLessThan(1e-9);
    expect(c.columns.map((x: any) => x.column)).not.toContain('Acceleration');
  });

  it('two datasets with the same content: no change', async () => {
    const c = await compare({ datasetId: carsId, version: 1 }, { datasetId: otherId });
    expect(c.added).toEqual([]);
    expect(c.removed).toEqual([]);
    const mpg = c.columns.find((x: any) => x.column === 'Miles_per_Gallon');
    expect(mpg.mean.change).toBe(0);
    expect(mpg.shift.statistic).toBe(0);
    expect(mpg.shift.drifted).toBe(false);
  });

  it('the same version twice is bad input', async () => {
    const res = await server.gql(
      COMPARE,
      { a: { datasetId: carsId, version: 1 }, b: { datasetId: carsId, version: 1 } },
      owner.token,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('Mann–Whitney from value counts equals it from the values (scipy, asymptotic)', () => {
    // mannwhitneyu([1,2,2,3,5],[2,4,4,6], method='asymptotic') → U 5.0, p 0.26017490098354834
    const r = mannWhitney(
      [
        { value: 1, count: 1 },
        { value: 2, count: 2 },
        { value: 3, count: 1 },
        { value: 5, count: 1 },
      ],
      [
        { value: 2, count: 1 },
        { value: 4, count: 2 },
        { value: 6, count: 1 },
      ],
    )!;
    expect(r.u).toBe(5);
    close(r.p, 0.26017490098354834);
  });
});
