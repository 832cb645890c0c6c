import { afterAll, beforeAll, expect, it } from 'vitest';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { SET_POLICY } from '../query/fixtures';
import { uploadVersion } from './insights-fixtures';

/**
 * Insights of a version whose clear columns are all text, with and without a row filter: the
 * summary statement binds no percentiles it does not use (an untyped, unused parameter made
 * PostgreSQL refuse the statement, and the read answered "Unexpected error.").
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(() => server?.close());

const READ = `query($id: ID!) { datasetInsights(datasetId: $id) {
  status rows columns { name count distinct mean topCategories { value count } } } }`;

it('describes text-only columns, also under a row filter on a hidden numeric column', async () => {
  const owner = await signUpOwner(server, 'text-only');
  const viewer = await inviteMember(server, owner.token, 'VIEWER');
  const created = await server.gql(
    'mutation { createDataset(input: { name: "words" }) { ... on Dataset { id } } }',
    {},
    owner.token,
  );
  const id = created.data!.createDataset.id as string;
  await uploadVersion(
    server,
    owner.token,
    id,
    'words.csv',
    'word,colour\nant,red\nbee,red\ncat,blue\n',
  );
  const all = await server.gql(READ, { id }, owner.token);
  expect(all.errors, JSON.stringify(all.errors)).toBeUndefined();
  expect(all.data!.datasetInsights.rows).toBe(3);
  expect(all.data!.datasetInsights.columns.map((c: any) => [c.name, c.count, c.distinct])).toEqual([
    ['word', 3, 3],
    ['colour', 3, 2],
  ]);

  const scored = await server.gql(
    'mutation { createDataset(input: { name: "scored" }) { ... on Dataset { id } } }',
    {},
    owner.token,
  );
  const scoredId = scored.data!.createDataset.id as string;
  await uploadVersion(
    server,
    owner.token,
    scoredId,
    'scored.csv',
    'word,score\nant,1\nbee,5\ncat,9\n',
  );
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId: scoredId,
        role: 'VIEWER',
        rowFilter: { column: 'score', gt: 4 },
        columnRules: [{ column: 'score', rule: 'HIDE' }],
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  const filtered = await server.gql(READ, { id: scoredId }, viewer.token);
  expect(filtered.errors, JSON.stringify(filtered.errors)).toBeUndefined();
  expect(filtered.data!.datasetInsights.rows).toBe(2);
  expect(filtered.data!.datasetInsights.columns.map((c: any) => c.name)).toEqual(['word']);
  expect(
    filtered.data!.datasetInsights.columns[0].topCategories.map((c: any) => c.value).sort(),
  ).toEqual(['bee', 'cat']);
});
