import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { vegaFile } from '../datasets/sources';
import { signUpOwner, startTestServer, subscribe, type TestServer } from '../helpers/server';

let server: TestServer;

beforeAll(async () => {
  // No local workers: runs stay QUEUED unless something claims them, as with remote workers.
  server = await startTestServer({ PESO_WORKERS: '0', PESO_RUN_TIMEOUT_SECONDS: '5' });
});
afterAll(() => server?.close());

it('marks FAILED a RUNNING run whose worker stopped sending heartbeats', async () => {
  const owner = await signUpOwner(server, 'reaper');
  const created = await server.gql(
    'mutation { createDataset(input: { name: "penguins" }) { ... on Dataset { id } } }',
    {},
    owner.token,
  );
  const datasetId = created.data!.createDataset.id;
  await server.upload(
    'mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) { __typename } }',
    { d: datasetId },
    { name: 'penguins.json', content: vegaFile('penguins.json') },
    owner.token,
  );
  const train = await server.gql(
    'mutation($d: ID!) { trainModel(input: { name: "m", datasetId: $d, target: "Species" }) { ... on TrainingRun { id } } }',
    { d: datasetId },
    owner.token,
  );
  const runId = train.data!.trainModel.id;
  const sub = subscribe(
    server.ws(owner.token),
    'subscription($id: ID!) { trainingProgress(runId: $id) { kind status error } }',
    { id: runId },
  );
  // What a worker on another machine leaves behind when it dies: RUNNING, last heartbeat long ago.
  await server.database.db.execute(
    sql`update training_runs set status = 'RUNNING', started_at = now() - interval '1 minute', heartbeat_at = now() - interval '30 seconds', worker = 'gone:1'`,
  );
  await sub.done;
  const events = sub.events.map((e) => e.data?.trainingProgress);
  expect(events.at(-1)).toMatchObject({
    status: 'FAILED',
    error: expect.stringMatching(/stopped responding/),
  });
  const run = await server.gql(
    'query($id: ID!) { trainingRun(id: $id) { status finishedAt } }',
    { id: runId },
    owner.token,
  );
  expect(run.data?.trainingRun.status).toBe('FAILED');
  expect(run.data?.trainingRun.finishedAt).toBeTruthy();
}, 60_000);
