import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import { viewerFor } from '../../src/auth/viewer';
import { type AuthedContext, contextFor } from '../../src/context';
import { type ColumnComparison, compareDatasets } from '../../src/insights/compare';
import { createLogger } from '../../src/log';
import {
  countOf,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { carsSecondVersion, loadVega, uploadVersion } from './insights-fixtures';
import { CARS_COMPARISON } from './references';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let analyst: Awaited<ReturnType<typeof inviteMember>>;
let carsId: string;
/** The comparison computed in the request, before any insights of either version existed. */
let direct: ColumnComparison[];

const COMPARE = `query($a: DatasetVersionSelector!, $b: DatasetVersionSelector!) {
  compareDatasets(a: $a, b: $b) {
    status progressA { status step totalSteps } progressB { status step totalSteps }
    a { number } b { number } rowsA rowsB
    added { name type } removed { name type } retyped { name from to }
    columns { column
      shift { test statistic pValue threshold drifted }
      mean { a b change t df p }
      median { a b change u p } } } }`;

const V1 = () => ({ datasetId: carsId, version: 1 });
const V2 = () => ({ datasetId: carsId, version: 2 });

beforeAll(async () => {
  // Both versions (406 and 327 rows) are above the job threshold; one worker runs the jobs.
  server = await startTestServer({ PESO_INSIGHTS_JOB_ROWS: '100', PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'compare-job');
  analyst = await inviteMember(server, owner.token, 'ANALYST');
  carsId = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  await uploadVersion(server, owner.token, carsId, 'cars.json', carsSecondVersion());
  const analysts = await server.gql(
    SET_POLICY,
    { input: { datasetId: carsId, role: 'ANALYST', access: 'AGGREGATE_ONLY' } },
    owner.token,
  );
  expect(analysts.data?.setDatasetPolicy.__typename, JSON.stringify(analysts)).toBe(
    'DatasetPolicy',
  );
  // The same comparison as the owner with no job threshold: everything read in the request.
  const [membership] = await query<{ id: string }>(
    server.database,
    'select id from memberships where user_id = $1',
    [decodeGlobalID(owner.userId).id],
  );
  const deps = {
    config: { ...server.config, insightsJobRows: Number.MAX_SAFE_INTEGER },
    database: server.database,
    log: createLogger('silent'),
    events: server.platform.events,
    jobs: server.platform.jobs,
  };
  const viewer = await viewerFor(server.database.db, {
    membershipId: membership!.id,
    apiKeyId: null,
  });
  const ctx = contextFor(deps, viewer) as AuthedContext;
  const raw = decodeGlobalID(carsId).id;
  const c = await compareDatasets(
    ctx,
    { datasetId: raw, version: 1 },
    { datasetId: raw, version: 2 },
  );
  expect(c.status).toBe('READY');
  direct = c.columns;
}, 120_000);

afterAll(() => server?.close());

async function compare(token = owner.token) {
  const res = await server.gql(COMPARE, { a: V1(), b: V2() }, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.compareDatasets;
}

const runCount = () => countOf(server, 'select count(*) as n from insights_runs');

/** The GraphQL shape of a comparison's columns. */
function asResult(columns: ColumnComparison[]) {
  return columns.map((c) => ({
    column: c.column,
    shift: c.drift && {
      test: c.drift.test,
      statistic: c.drift.statistic,
      pValue: c.drift.pValue?.value ?? null,
      threshold: c.drift.threshold,
      drifted: c.drift.drifted,
    },
    mean: c.mean,
    median: c.median,
  }));
}

describe('compareDatasets with a side above PESO_INSIGHTS_JOB_ROWS', () => {
  it('a viewer who may not see a dataset, or only its aggregates, gets the same errors and queues nothing', async () => {
    // Each viewer may read the rows of the other side, a large version no insights exist for.
    const other = await signUpOwner(server, 'compare-job-other');
    const theirs = (await loadVega(server, other.token, 'cars.json')).datasetId;
    const foreign = await server.gql(COMPARE, { a: { datasetId: theirs }, b: V2() }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const open = (await loadVega(server, owner.token, 'cars.json', 'cars-open')).datasetId;
    const aggregates = await server.gql(
      COMPARE,
      { a: { datasetId: open }, b: V2() },
      analyst.token,
    );
    expect(aggregates.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await runCount()).toBe(0);
  });

  it('is COMPUTING with each side’s insights run, then READY with the numbers of a direct comparison', async () => {
    const first = await compare();
    expect(first.status).toBe('COMPUTING');
    expect(first.progressA).toMatchObject({ totalSteps: 3 });
    expect(first.progressB).toMatchObject({ totalSteps: 3 });
    expect(first.rowsA).toBeNull();
    expect(first.rowsB).toBeNull();
    expect(first.columns).toEqual([]);
    // The schema diff needs no statistics: it is there at once.
    expect(first.added).toEqual([{ name: 'Rating', type: 'INTEGER' }]);
    expect(first.removed).toEqual([{ name: 'Acceleration', type: 'FLOAT' }]);
    expect(await runCount()).toBe(2);

    let result: any = first;
    for (let i = 0; i < 300 && result.status === 'COMPUTING'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      result = await compare();
    }
    expect(result.status).toBe('READY');
    expect(result.progressA).toBeNull();
    expect(result.progressB).toBeNull();
    expect(result.rowsA).toBe(406);
    expect(result.rowsB).toBe(CARS_COMPARISON.rowsB);
    expect(result.columns).toEqual(asResult(direct));
    expect(result.columns.map((c: any) => c.column)).toContain('Horsepower');
    // Both runs were the insights runs of the versions; none more was queued.
    expect(
      await countOf(
        server,
        `select count(*) as n from insights_runs where status = 'SUCCEEDED' and version_id in
          (select id from dataset_versions where dataset_id = '${decodeGlobalID(carsId).id}')`,
      ),
    ).toBe(2);
    expect(await runCount()).toBe(2);
  });
});
