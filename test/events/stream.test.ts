/**
 * Every subscription re-checks access for each event, on every transport: a subscriber whose
 * access goes away mid-stream (a policy removed, a key revoked) gets no further data event, and
 * its stream ends. The WebSocket re-check timer is set far beyond the test, so what ends the
 * streams here is the per-event check alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vegaFile } from '../datasets/sources';
import {
  createApiKey,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename ... on DatasetPolicy { id } ... on Error { code message } } }`;
const REMOVE_POLICY = `mutation($id: ID!) { removeDatasetPolicy(id: $id) { __typename } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`;
const INGESTION = `subscription($id: ID!) { datasetIngestion(datasetId: $id) { versionId status } }`;
const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id status } ... on Error { code message } } }`;
const CANCEL = `mutation($id: ID!) { cancelTrainingRun(id: $id) { __typename } }`;
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`;

async function upload(): Promise<string> {
  const res = await server.upload(
    UPLOAD,
    { datasetId },
    { name: 'penguins.json', content: vegaFile('penguins.json') },
    owner.token,
  );
  expect(res.data?.uploadDatasetVersion.__typename, JSON.stringify(res)).toBe('DatasetVersion');
  return res.data!.uploadDatasetVersion.id as string;
}

/** A key that a policy lets read the dataset; returns its secret, id and the policy's id. */
async function keyWithPolicy() {
  const key = await createApiKey(server, owner.token, 'ANALYST');
  const policy = await server.gql(
    SET_POLICY,
    { input: { datasetId, apiKeyId: key.id } },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  return { ...key, policyId: policy.data!.setDatasetPolicy.id as string };
}

async function until(check: () => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The streams complete (a stream the server keeps open fails the test instead of hanging it). */
async function ended(streams: Array<Promise<void>>, ms = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the streams stayed open')), ms);
  });
  try {
    await Promise.race([Promise.all(streams), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  server = await startTestServer({ PESO_AUTH_RECHECK_MS: '30000' });
  owner = await signUpOwner(server, 'streams');
  const created = await server.gql(CREATE, { input: { name: 'penguins' } }, owner.token);
  datasetId = created.data!.createDataset.id as string;
  await upload();
}, 60_000);
afterAll(() => server?.close());

describe('access re-checked per event', () => {
  it('datasetIngestion: no event of an upload made after the policy is removed, over SSE and WebSocket', async () => {
    const key = await keyWithPolicy();
    const sse = sseSubscribe(server.graphqlUrl, INGESTION, { id: datasetId }, key.secret);
    const ws = subscribe(server.ws(key.secret), INGESTION, { id: datasetId });
    const control = subscribe(server.ws(owner.token), INGESTION, { id: datasetId });
    const seen = (events: any[], versionId: string) =>
      events.some(
        (e) =>
          e.data?.datasetIngestion.versionId === versionId &&
          e.data.datasetIngestion.status === 'READY',
      );
    // Streams are live: the key sees an upload made while it has access, on both transports
    // (subscriptions start asynchronously: upload again until one reaches every stream).
    for (let attempt = 0; ; attempt++) {
      const before = await upload();
      try {
        await until(
          () => seen(sse.events, before) && seen(ws.events, before) && seen(control.events, before),
          'an upload on every stream',
          3_000,
        );
        break;
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }

    const removed = await server.gql(REMOVE_POLICY, { id: key.policyId }, owner.token);
    expect(removed.data?.removeDatasetPolicy.__typename, JSON.stringify(removed)).not.toMatch(
      /Error/,
    );
    const after = await upload();
    await until(() => seen(control.events, after), 'the owner to see the second upload');
    // The key's streams end at the first event after the change, without delivering it.
    await ended([sse.done, ws.done]);
    for (const events of [sse.events, ws.events]) {
      expect(events.some((e) => e.data?.datasetIngestion.versionId === after)).toBe(false);
      expect(events.every((e) => !e.errors)).toBe(true);
    }
    control.dispose();
  }, 60_000);

  it('trainingProgress: a revoked key gets no further event, over SSE and WebSocket', async () => {
    const key = await keyWithPolicy();
    // No workers run in this server: the run stays QUEUED until it is cancelled.
    const trained = await server.gql(
      TRAIN,
      { input: { name: 'species', datasetId, target: 'Species', seed: 7 } },
      key.secret,
    );
    const run = trained.data?.trainModel;
    expect(run, JSON.stringify(trained)).toMatchObject({ __typename: 'TrainingRun' });
    const sse = sseSubscribe(server.graphqlUrl, PROGRESS, { id: run.id }, key.secret);
    const ws = subscribe(server.ws(key.secret), PROGRESS, { id: run.id });
    const control = subscribe(server.ws(owner.token), PROGRESS, { id: run.id });
    // Each stream starts with the run's current state.
    await until(
      () => sse.events.length > 0 && ws.events.length > 0 && control.events.length > 0,
      'the current state on every stream',
    );
    expect(sse.events[0].data.trainingProgress).toMatchObject({ kind: 'STATUS', status: 'QUEUED' });

    await server.gql(REVOKE_KEY, { id: key.id }, owner.token);
    const cancelled = await server.gql(CANCEL, { id: run.id }, owner.token);
    expect(cancelled.data?.cancelTrainingRun.__typename, JSON.stringify(cancelled)).toBe(
      'TrainingRun',
    );
    await control.done;
    expect(control.events.at(-1).data.trainingProgress).toMatchObject({ status: 'CANCELLED' });
    await ended([sse.done, ws.done]);
    for (const events of [sse.events, ws.events]) {
      expect(events.map((e) => e.data?.trainingProgress.status)).toEqual(['QUEUED']);
    }
  }, 60_000);
  it('datasetIngestion: a key under a row filter sees the load, not its counts (they count rows it cannot see)', async () => {
    const key = await createApiKey(server, owner.token, 'ANALYST');
    const policy = await server.gql(
      SET_POLICY,
      { input: { datasetId, apiKeyId: key.id, rowFilter: { column: 'Island', eq: 'Biscoe' } } },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    const COUNTS = `subscription($id: ID!) { datasetIngestion(datasetId: $id) { versionId status rows bytes totalBytes rowsPerSecond } }`;
    const filtered = sseSubscribe(server.graphqlUrl, COUNTS, { id: datasetId }, key.secret);
    const full = subscribe(server.ws(owner.token), COUNTS, { id: datasetId });
    const ready = (events: any[], id: string) =>
      events.find(
        (e) =>
          e.data?.datasetIngestion.versionId === id && e.data.datasetIngestion.status === 'READY',
      )?.data.datasetIngestion;
    let versionId = '';
    for (let attempt = 0; ; attempt++) {
      versionId = await upload();
      try {
        await until(
          () => Boolean(ready(filtered.events, versionId) && ready(full.events, versionId)),
          'the upload on both streams',
          3_000,
        );
        break;
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }
    expect(ready(full.events, versionId).rows).toBeGreaterThan(0);
    expect(ready(full.events, versionId).bytes).toBeGreaterThan(0);
    expect(ready(filtered.events, versionId)).toMatchObject({
      rows: null,
      bytes: null,
      totalBytes: null,
      rowsPerSecond: null,
    });
    filtered.close();
    full.dispose();
  }, 60_000);
});
