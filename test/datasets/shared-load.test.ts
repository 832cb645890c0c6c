import { afterAll, beforeAll, expect, it } from 'vitest';
import { query } from '../../db/client';
import {
  countOf,
  signUpOwner,
  startTestServer,
  storedTables,
  type TestServer,
  usingPostgres,
} from '../helpers/server';

/**
 * On PGlite an upload to an existing dataset fills its table outside a transaction (so the API
 * keeps answering): a failure after rows were copied must still leave no table, version or
 * column behind, and the API must answer while the load runs.
 */
let server: TestServer;
let token = '';

beforeAll(async () => {
  server = await startTestServer();
  token = (await signUpOwner(server, 'shared-load')).token;
});
afterAll(() => server?.close());

async function upload(body: string) {
  const created = await server.gql(
    'mutation($n: String!) { createDataset(input: { name: $n }) { ... on Dataset { id } } }',
    { n: `d${Math.random()}` },
    token,
  );
  const signed = await server.gql(
    'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "t.csv") { ... on UploadUrl { url } } }',
    { d: created.data!.createDataset.id },
    token,
  );
  const res = await fetch(signed.data!.createUploadUrl.url, { method: 'PUT', body });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => `${i},row ${i}\n`).join('');

it('a row that fails after 60,000 were copied leaves no table, version or column', async () => {
  const before = {
    tables: await storedTables(server),
    versions: await countOf(server, 'select count(*)::int as n from dataset_versions'),
    columns: await countOf(server, 'select count(*)::int as n from dataset_columns'),
  };
  // Past the 10,000-row type sample and several ~1 MiB COPYs: "x" is no integer.
  const res = await upload(`n,label\n${rows(60_000)}x,bad\n`);
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({ code: 'BAD_USER_INPUT', line: 60_002 });
  expect(await storedTables(server)).toBe(before.tables);
  expect(await countOf(server, 'select count(*)::int as n from dataset_versions')).toBe(
    before.versions,
  );
  expect(await countOf(server, 'select count(*)::int as n from dataset_columns')).toBe(
    before.columns,
  );
});

// PostgreSQL loads in one transaction: its pool serves the API meanwhile.
it.skipIf(usingPostgres)(
  'answers requests while a load runs, between its COPYs, and the load is complete',
  async () => {
    let done = false;
    const load = upload(`n,label\n${rows(500_000)}`).finally(() => {
      done = true;
    });
    // Rows seen in a table no version names yet (all of them, once the COPYs are done and the
    // new table is being measured): only possible when the database answers other
    // statements between the load's COPYs (a load in one transaction holds the one connection
    // until the version row commits with it).
    let partial = 0;
    const watch = async () => {
      while (!done) {
        // A turn of the event loop each time, so the upload's own I/O is never starved.
        await new Promise((resolve) => setImmediate(resolve));
        const [staged] = await query<{ tablename: string }>(
          server.database,
          `select tablename from pg_tables where tablename like 'dsv_%'
             and tablename not in (select table_name from dataset_versions)`,
        );
        if (!staged) continue;
        const n = await countOf(server, `select count(*)::int as n from ${staged.tablename}`).catch(
          () => 0,
        );
        if (!done) partial = Math.max(partial, n);
      }
    };
    const ask = async () => {
      while (!done) expect((await server.gql('{ viewer { id } }', {}, token)).status).toBe(200);
    };
    await Promise.all([watch(), ask()]);
    const res = await load;
    expect(res.status).toBe(201);
    expect(res.body.version.rowCount).toBe(500_000);
    expect(partial).toBeGreaterThan(0);
  },
);
