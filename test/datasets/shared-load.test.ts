import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  countOf,
  signUpOwner,
  startTestServer,
  storedTables,
  type TestServer,
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

it('answers requests while a load runs, and the load is complete', async () => {
  let done = false;
  const load = upload(`n,label\n${rows(300_000)}`).finally(() => {
    done = true;
  });
  // Answers that arrive before the upload's own answer: with the whole load in one transaction
  // on the one connection, at most the request already waiting could (it would finish after it).
  let answeredDuring = 0;
  while (!done) {
    const res = await server.gql('{ viewer { id } }', {}, token);
    expect(res.status).toBe(200);
    if (!done) answeredDuring++;
  }
  const res = await load;
  expect(res.status).toBe(201);
  expect(res.body.version.rowCount).toBe(300_000);
  expect(answeredDuring).toBeGreaterThanOrEqual(2);
});
