/**
 * PostgreSQL restarted under a live API: during the outage `/ready` answers 503 and GraphQL
 * answers SERVICE_UNAVAILABLE (never "Unexpected error." or a 500), subscriptions opened before
 * it stay open, and once PostgreSQL is back the API answers again without a restart, LISTEN is
 * re-established (an upload's events reach those subscriptions) and a training run queued just
 * before the stop completes. The test runs its own cluster, so it may stop it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, clusterUnavailable, createCluster } from '../helpers/postgres-cluster';
import {
  SIGN_UP,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id status } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status error } }`;
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`;
const INGESTION = `subscription($id: ID!) { datasetIngestion(datasetId: $id) { versionId status } }`;
const DATASETS = '{ datasets { edges { node { id } } } }';

/** A small, separable training set. */
const CSV = `x,y,label\n${Array.from({ length: 60 }, (_, i) => {
  const a = i % 2 === 0;
  return `${(a ? 1 : -1) * (1 + (i % 7) / 10)},${(a ? 1 : -1) * (2 + (i % 5) / 10)},${a ? 'A' : 'B'}`;
}).join('\n')}\n`;

let cluster: Cluster | undefined;
let server: TestServer;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ready = async () => (await fetch(`${server.url}/ready`)).status;

/** Queues a training run of `epochs` epochs; returns its id. */
async function train(token: string, datasetId: string, epochs: number): Promise<string> {
  const res = await server.gql(
    TRAIN,
    {
      input: {
        name: `label-${epochs}`,
        datasetId,
        target: 'label',
        algorithm: 'LOGISTIC_REGRESSION',
        seed: 3,
        hyperparameters: { epochs },
      },
    },
    token,
  );
  expect(res.data?.trainModel, JSON.stringify(res)).toMatchObject({ status: 'QUEUED' });
  return res.data!.trainModel.id as string;
}

describe.skipIf(clusterUnavailable)('PostgreSQL restarted under a live API', () => {
  beforeAll(async () => {
    cluster = await createCluster();
    server = await startTestServer(
      { PESO_WORKERS: '1', PESO_AUTH_RECHECK_MS: '500' },
      { postgresUrl: cluster.url },
    );
  }, 60_000);
  afterAll(async () => {
    // Closing drops the test's database: the cluster must be up again if the test stopped early.
    await cluster?.start();
    await server?.close();
    await cluster?.destroy();
  });

  it('answers typed errors while it is down and recovers on its own', async () => {
    const owner = await signUpOwner(server, 'restart');
    const created = await server.gql(CREATE, { input: { name: 'points' } }, owner.token);
    const datasetId = created.data!.createDataset.id as string;
    const first = await server.upload(
      UPLOAD,
      { datasetId },
      { name: 'points.csv', content: CSV },
      owner.token,
    );
    expect(first.data?.uploadDatasetVersion.__typename, JSON.stringify(first)).toBe(
      'DatasetVersion',
    );

    // Streams on both transports, live before the outage.
    const sse = sseSubscribe(server.graphqlUrl, INGESTION, { id: datasetId }, owner.token);
    const ws = subscribe(server.ws(owner.token), INGESTION, { id: datasetId });
    let wsOpen = true;
    void ws.done.then(() => (wsOpen = false));
    let sseOpen = true;
    void sse.done.finally(() => (sseOpen = false));
    // A stream is attached once an upload's READY reaches it.
    const readyOf = (events: any[], versionId: string) =>
      events.some(
        (e) =>
          e.data?.datasetIngestion.versionId === versionId &&
          e.data.datasetIngestion.status === 'READY',
      );
    for (let attempt = 0; ; attempt++) {
      const res = await server.upload(
        UPLOAD,
        { datasetId },
        { name: 'points.csv', content: CSV },
        owner.token,
      );
      const id = res.data!.uploadDatasetVersion.id as string;
      try {
        await until(() => readyOf(sse.events, id) && readyOf(ws.events, id), 'live streams', 3_000);
        break;
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }

    // A run training when PostgreSQL stops, followed over SSE, and one queued behind it (one
    // pool process): both must end SUCCEEDED once it is back.
    const running = await train(owner.token, datasetId, 300);
    const progress = sseSubscribe(server.graphqlUrl, PROGRESS, { id: running }, owner.token);
    await until(
      () => progress.events.some((e) => e.data?.trainingProgress.kind === 'EPOCH'),
      'the first run to be training',
    );
    const queued = await train(owner.token, datasetId, 3);

    await cluster!.stop();

    expect(await ready()).toBe(503);
    const query = await server.gql(DATASETS, {}, owner.token);
    expect(query.status, JSON.stringify(query)).toBe(503);
    expect(query.errors?.[0]?.extensions?.code, JSON.stringify(query)).toBe('SERVICE_UNAVAILABLE');
    const mutation = await server.gql(CREATE, { input: { name: 'later' } }, owner.token);
    expect(mutation.errors?.[0]?.extensions?.code, JSON.stringify(mutation)).toBe(
      'SERVICE_UNAVAILABLE',
    );
    // A mutation with typed errors in its union, reaching the database only in its resolver.
    const signUp = await server.gql(SIGN_UP, {
      input: {
        email: 'late@example.com',
        password: 'correct horse battery',
        name: 'Late',
        organizationName: 'Late',
      },
    });
    expect(signUp.errors?.[0]?.extensions?.code, JSON.stringify(signUp)).toBe(
      'SERVICE_UNAVAILABLE',
    );
    expect(signUp.errors?.[0]?.path, JSON.stringify(signUp)).toEqual(['signUp']);
    // A new subscription over SSE, and a new WebSocket: told to come back, not refused.
    const newSse = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: JSON.stringify({ query: INGESTION, variables: { id: datasetId } }),
    });
    const newSseBody = await newSse.text();
    expect(newSse.status, newSseBody).toBe(503);
    expect(newSseBody).toContain('SERVICE_UNAVAILABLE');
    const closed = await new Promise<number>((resolve) => server.ws(owner.token, resolve));
    expect(closed).toBe(4503);
    for (const res of [query, mutation, signUp]) {
      expect(JSON.stringify(res)).not.toMatch(/Unexpected error/);
    }
    // Long enough for the streams' timer checks to find no answer a few times.
    await new Promise((r) => setTimeout(r, 2_000));

    await cluster!.start();

    await until(async () => (await ready()) === 200, '/ready to answer 200');
    const back = await server.gql(DATASETS, {}, owner.token);
    expect(back.status, JSON.stringify(back)).toBe(200);
    expect(back.data?.datasets.edges).toHaveLength(1);
    expect(wsOpen && sseOpen).toBe(true);
    // Ready means LISTEN is back: the first upload after it reaches the streams opened before.
    const after = await server.upload(
      UPLOAD,
      { datasetId },
      { name: 'points.csv', content: CSV },
      owner.token,
    );
    expect(after.data?.uploadDatasetVersion.__typename, JSON.stringify(after)).toBe(
      'DatasetVersion',
    );
    const versionId = after.data!.uploadDatasetVersion.id as string;
    await until(
      () => readyOf(sse.events, versionId) && readyOf(ws.events, versionId),
      'the upload after recovery on the streams opened before the outage',
    );

    // The interrupted run went back to the queue and trained again; its stream resumed.
    await progress.done;
    const kinds = progress.events.map((e) => e.data?.trainingProgress);
    expect(kinds.at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED' });
    expect(kinds.some((e) => e.kind === 'STATUS' && e.status === 'QUEUED')).toBe(true);
    for (const id of [running, queued]) {
      await until(async () => {
        const run = await server.gql(RUN, { id }, owner.token);
        const status = run.data?.trainingRun?.status;
        if (status === 'FAILED' || status === 'CANCELLED') throw new Error(JSON.stringify(run));
        return status === 'SUCCEEDED';
      }, 'every run to succeed');
    }

    sse.close();
    ws.dispose();
  }, 60_000);
});
