import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countOf,
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { close, INSIGHTS, loadVega } from './insights-fixtures';
import { CARS_USA_CORRELATIONS, CARS_USA_SUMMARY } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let analyst: Awaited<ReturnType<typeof inviteMember>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;
let carsId: string;

const COMPARE = `query($a: DatasetVersionSelector!, $b: DatasetVersionSelector!) {
  compareDatasets(a: $a, b: $b) { rowsA rowsB added { name } removed { name }
    columns { column mean { a b } median { a b } shift { test statistic } } } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'insights-access');
  other = await signUpOwner(server, 'insights-other');
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  analyst = await inviteMember(server, owner.token, 'ANALYST');
  carsId = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  // Viewers: Horsepower masked, Weight hidden, and only the American cars.
  const viewers = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId: carsId,
        role: 'VIEWER',
        columnRules: [
          { column: 'Horsepower', rule: 'MASK' },
          { column: 'Weight_in_lbs', rule: 'HIDE' },
        ],
        rowFilter: { column: 'Origin', eq: 'USA' },
      },
    },
    owner.token,
  );
  expect(viewers.data?.setDatasetPolicy.__typename, JSON.stringify(viewers)).toBe('DatasetPolicy');
  const analysts = await server.gql(
    SET_POLICY,
    { input: { datasetId: carsId, role: 'ANALYST', access: 'AGGREGATE_ONLY' } },
    owner.token,
  );
  expect(analysts.data?.setDatasetPolicy.__typename, JSON.stringify(analysts)).toBe(
    'DatasetPolicy',
  );
}, 120_000);

afterAll(() => server?.close());

describe('insights under the access gate', () => {
  it('another organization and a key no policy names: not found, nothing computed', async () => {
    const before = await countOf(server, 'select count(*) as n from insights_cache');
    const foreign = await server.gql(INSIGHTS, { id: carsId }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.data).toBeNull();
    const key = await createApiKey(server, owner.token, 'ADMIN');
    const keyed = await server.gql(INSIGHTS, { id: carsId }, key.secret);
    expect(keyed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const compared = await server.gql(
      COMPARE,
      { a: { datasetId: carsId }, b: { datasetId: carsId, version: 1 } },
      other.token,
    );
    expect(compared.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await countOf(server, 'select count(*) as n from insights_cache')).toBe(before);
  });

  it('aggregate-only access gets no insights', async () => {
    const res = await server.gql(INSIGHTS, { id: carsId }, analyst.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a masked and a hidden column contribute nothing; a row policy limits every statistic to its rows', async () => {
    const res = await server.gql(INSIGHTS, { id: carsId }, viewer.token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const insights = res.data!.datasetInsights;
    expect(insights.rows).toBe(CARS_USA_SUMMARY.rows);
    expect(insights.columns.map((c: any) => c.name)).toEqual([
      'Name',
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Acceleration',
      'Year',
      'Origin',
    ]);
    for (const [name, ref] of Object.entries(CARS_USA_SUMMARY.columns)) {
      const c = insights.columns.find((x: any) => x.name === name);
      expect(c.count).toBe(ref.count);
      expect(c.nulls).toBe(ref.nulls);
      close(c.mean, ref.mean);
      close(c.median, ref.median);
      close(c.std, ref.std);
      close(c.skewness, ref.skewness);
      expect(c.histogram.map((b: any) => b.count)).toEqual(ref.histogram);
    }
    expect(insights.columns.find((c: any) => c.name === 'Origin').topCategories).toEqual([
      { value: 'USA', count: 254, share: 1 },
    ]);
    expect(insights.correlations.columns).toEqual([
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Acceleration',
    ]);
    for (const ref of CARS_USA_CORRELATIONS) {
      const pair = insights.correlations.pairs.find((p: any) => p.x === ref.x && p.y === ref.y);
      close(pair.pearson, ref.pearson);
      close(pair.spearman, ref.spearman);
    }
    // Nothing computed from the masked or hidden column anywhere but the rows, where the masked
    // one shows masked and the hidden one is absent.
    const derived = JSON.stringify({
      columns: insights.columns,
      correlations: insights.correlations,
      seasonal: insights.seasonalAnomalies,
      rules: insights.anomalies.map((a: any) => ({ ...a, rows: null })),
    });
    expect(derived).not.toContain('Horsepower');
    expect(derived).not.toContain('Weight_in_lbs');
    const rows = insights.anomalies.flatMap((a: any) => a.rows);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.Horsepower).toBe('***');
      expect(row).not.toHaveProperty('Weight_in_lbs');
      expect(row.Origin).toBe('USA');
    }
  });

  it('the owner and the viewer never share a cache entry', async () => {
    const mine = await server.gql(INSIGHTS, { id: carsId }, owner.token);
    expect(mine.data!.datasetInsights.rows).toBe(406);
    expect(mine.data!.datasetInsights.columns.map((c: any) => c.name)).toContain('Horsepower');
    const theirs = await server.gql(INSIGHTS, { id: carsId }, viewer.token);
    expect(theirs.data!.datasetInsights.rows).toBe(CARS_USA_SUMMARY.rows);
    expect(
      await countOf(
        server,
        `select count(*) as n from insights_cache where fingerprint not like '%:%'`,
      ),
    ).toBe(2);
  });

  it('a comparison compares only what both sides show in clear, over the viewer’s rows', async () => {
    const res = await server.gql(
      COMPARE,
      { a: { datasetId: carsId, version: 1 }, b: { datasetId: carsId, version: 1 } },
      viewer.token,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
