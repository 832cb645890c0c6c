import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayStats } from '../../src/insights/replay';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { loadVega, uploadVersion } from './insights-fixtures';

/**
 * A finished `datasetInsights` read is answered again from memory (src/insights/replay.ts) for
 * the same viewer, document and variables until an access change; never across viewers, never
 * for live fields, unfinished insights or reads with effects.
 */
const READ = `query($id: ID!, $version: Int) { datasetInsights(datasetId: $id, version: $version) {
  status rows columns { name count mean histogram { lower upper count } topCategories { value share } }
  correlations { columns pearson } anomalies { column rule count } } }`;
const LIVE = `query($id: ID!) { datasetInsights(datasetId: $id) {
  status rows dataset { name } } }`;
const PROGRESS = `query($id: ID!) { datasetInsights(datasetId: $id) {
  rows progress { status } } }`;
const DIRECTIVE = `query($id: ID!, $more: Boolean = true) { datasetInsights(datasetId: $id) {
  rows columns @include(if: $more) { name } } }`;
const SENSITIVITY = `mutation($d: ID!, $c: String!, $s: Sensitivity!) {
  setColumnSensitivity(datasetId: $d, column: $c, sensitivity: $s) {
    __typename ... on Error { code message } } }`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let carsId: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'insights-replay');
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  carsId = (await loadVega(server, owner.token, 'cars.json')).datasetId;
  await viewersSee('USA');
}, 120_000);

afterAll(() => server?.close());

async function viewersSee(origin: string) {
  const res = await server.gql(
    SET_POLICY,
    { input: { datasetId: carsId, role: 'VIEWER', rowFilter: { column: 'Origin', eq: origin } } },
    owner.token,
  );
  expect(res.data?.setDatasetPolicy.__typename, JSON.stringify(res)).toBe('DatasetPolicy');
}

async function read(
  token: string,
  query = READ,
  variables: Record<string, unknown> = { id: carsId },
) {
  const res = await server.gql(query, variables, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.datasetInsights;
}

/** Runs `f` and says how many reads it answered from memory. */
async function replaysDuring(f: () => Promise<unknown>): Promise<number> {
  const before = replayStats.replayed;
  await f();
  return replayStats.replayed - before;
}

describe('insights replay', () => {
  it('answers the same read again from memory, equal to the executed one', async () => {
    // The first read computes them (reading through the gate, which is audited): not kept.
    expect((await read(viewer.token)).status).toBe('READY');
    const first = await read(viewer.token);
    let again: unknown;
    expect(await replaysDuring(async () => (again = await read(viewer.token)))).toBe(1);
    expect(again).toEqual(first);
    // Other variables are another read.
    expect(await replaysDuring(() => read(viewer.token, READ, { id: carsId, version: 1 }))).toBe(0);
  });

  it('never answers one viewer with another’s read', async () => {
    const mine = await read(viewer.token);
    let owners: any;
    expect(await replaysDuring(async () => (owners = await read(owner.token)))).toBe(0);
    expect(owners.rows).toBe(406);
    expect(mine.rows).toBeLessThan(406);
  });

  it('follows a policy change, a sensitivity change and a new version at once', async () => {
    const usa = await read(viewer.token);
    expect(await replaysDuring(() => read(viewer.token))).toBe(1);
    await viewersSee('Europe');
    let europe: any;
    expect(await replaysDuring(async () => (europe = await read(viewer.token)))).toBe(0);
    expect(europe.rows).not.toBe(usa.rows);
    expect(europe.rows).toBe(73);

    expect(europe.columns.map((c: any) => c.name)).toContain('Horsepower');
    const secret = await server.gql(
      SENSITIVITY,
      { d: carsId, c: 'Horsepower', s: 'SECRET' },
      owner.token,
    );
    expect(secret.data?.setColumnSensitivity.__typename).not.toBe('Error');
    const masked = await read(viewer.token);
    expect(masked.columns.map((c: any) => c.name)).not.toContain('Horsepower');
    expect(masked.correlations.columns).not.toContain('Horsepower');

    await uploadVersion(
      server,
      owner.token,
      carsId,
      'cars.json',
      JSON.stringify([{ Name: 'x', Origin: 'Europe', Horsepower: 1, Miles_per_Gallon: 2 }]),
    );
    const latest = await read(viewer.token);
    expect(latest.rows).toBe(1);
  });

  it('never replays a read of live fields, nor one with directives', async () => {
    for (const query of [LIVE, PROGRESS, DIRECTIVE]) {
      await read(viewer.token, query);
      await read(viewer.token, query);
      expect(await replaysDuring(() => read(viewer.token, query)), query).toBe(0);
    }
  });
});

describe('insights replay of unfinished insights', () => {
  let jobServer: TestServer;
  let jobOwner: Awaited<ReturnType<typeof signUpOwner>>;
  let id: string;

  beforeAll(async () => {
    // A job computes versions over 100 rows, and no worker runs it: they stay COMPUTING.
    jobServer = await startTestServer({ PESO_INSIGHTS_JOB_ROWS: '100', PESO_WORKERS: '0' });
    jobOwner = await signUpOwner(jobServer, 'insights-replay-jobs');
    id = (await loadVega(jobServer, jobOwner.token, 'cars.json')).datasetId;
  }, 120_000);

  afterAll(() => jobServer?.close());

  it('answers COMPUTING afresh every time', async () => {
    const ask = async () => {
      const res = await jobServer.gql(READ, { id }, jobOwner.token);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data!.datasetInsights.status;
    };
    expect(await ask()).toBe('COMPUTING');
    let status = '';
    expect(await replaysDuring(async () => (status = await ask()))).toBe(0);
    expect(status).toBe('COMPUTING');
  });
});
