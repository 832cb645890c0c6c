import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vegaFile } from '../datasets/sources';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const ids: Record<string, string> = {};

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id status model { id } } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) {
  id status error epochsDone algorithm backend device seed
  metrics { accuracy f1 rocAuc logLoss confusionMatrix { labels matrix } r2 rmse mae }
  modelVersion { id number aliases } } }`;
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) {
  kind status epoch totalEpochs candidate loss samplesPerSecond error } }`;

async function load(name: string, file: string) {
  const created = await server.gql(CREATE, { input: { name } }, owner.token);
  const datasetId = created.data!.createDataset.id as string;
  const up = await server.upload(
    UPLOAD,
    { datasetId },
    { name: file, content: vegaFile(file) },
    owner.token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  return datasetId;
}

async function waitForRun(id: string, token = owner.token, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.gql(RUN, { id }, token);
    const run = res.data?.trainingRun;
    if (run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run?.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'ml');
  ids.penguins = await load('penguins', 'penguins.json');
  ids.cars = await load('cars', 'cars.json');
}, 60_000);
afterAll(() => server?.close());

describe('trainModel', () => {
  it('trains penguins species to ≥ 0.95 held-out accuracy, streaming every epoch', async () => {
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'species',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'AUTO',
          seed: 42,
        },
      },
      owner.token,
    );
    const run = res.data?.trainModel;
    expect(run, JSON.stringify(res)).toMatchObject({ __typename: 'TrainingRun', status: 'QUEUED' });
    const sub = subscribe(server.ws(owner.token), PROGRESS, { id: run.id });
    await sub.done;
    const events = sub.events.map((e) => e.data?.trainingProgress);
    expect(sub.errors).toEqual([]);
    const final = await waitForRun(run.id);
    expect(final, JSON.stringify(final)).toMatchObject({
      status: 'SUCCEEDED',
      backend: 'wasm',
      device: 'CPU',
      seed: 42,
    });
    expect(final.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(events.at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED' });
    const epochs = events.filter((e) => e.kind === 'EPOCH');
    expect(epochs.length).toBe(final.epochsDone);
    expect(events.map((e) => e.status)).toContain('RUNNING');
  }, 180_000);
});
