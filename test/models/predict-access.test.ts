/**
 * A model's outputs inherit the access rule of its target, and its inputs those of its features,
 * tried as an attacker: a VIEWER with a SECRET target masked and rows filtered out, an ANALYST
 * with the target masked, and a caller with the target in clear but a row filter, against a
 * model the owner trained on every row. `predict`, `batchPredict`, metrics, run history and the
 * training stream over WebSocket and SSE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let analyst: Awaited<ReturnType<typeof inviteMember>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let filtered: Awaited<ReturnType<typeof inviteMember>>;
let datasetId: string;
let sourceVersionId: string;
let modelId: string;
let modelVersionId: string;
let runId: string;

const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename ... on Error { code message } } }`;
const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id model { id } } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status history
  metrics { rmse mae r2 confusionMatrix { labels } } modelVersion { id metrics { rmse mae r2 } } } }`;
const PREDICT = `query($v: ID!, $rows: [JSON!]!) { predict(versionId: $v, rows: $rows) {
  __typename ... on PredictionResult { predictions { value } } ... on Error { code message } } }`;
const BATCH = `mutation($v: ID!, $d: ID!) { batchPredict(versionId: $v, datasetVersionId: $d) {
  __typename ... on BatchPrediction { versionId dataset { id } } ... on Error { code message } } }`;
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { kind status loss valLoss metrics } }`;

/** 60 people: salary (SECRET) is 1000 × years + 30000, exactly learnable from years. */
const people = Array.from({ length: 60 }, (_, i) => ({
  id: i + 1,
  years: i % 20,
  region: i % 3 === 0 ? 'north' : 'south',
  salary: 1000 * (i % 20) + 30000,
}));

async function waitForRun(id: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await server.gql(RUN, { id }, owner.token)).data?.trainingRun;
    if (run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run?.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function train(token: string, input: Record<string, unknown>) {
  const res = await server.gql(TRAIN, { input }, token);
  expect(res.data?.trainModel.__typename, JSON.stringify(res)).toBe('TrainingRun');
  return res.data!.trainModel as { id: string; model: { id: string } };
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'predict');
  const created = await server.gql(
    `mutation { createDataset(input: { name: "salaries" }) { ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  datasetId = created.data!.createDataset.id;
  const csv = `id,years,region,salary\n${people.map((p) => `${p.id},${p.years},${p.region},${p.salary}`).join('\n')}\n`;
  const up = await server.upload(
    `mutation($datasetId: ID!, $file: File!, $options: UploadOptions) {
      uploadDatasetVersion(datasetId: $datasetId, file: $file, options: $options) {
        __typename ... on DatasetVersion { id } ... on Error { code message } } }`,
    {
      datasetId,
      options: { sensitivityOverrides: [{ column: 'salary', sensitivity: 'SECRET' }] },
    },
    { name: 'salaries.csv', content: csv },
    owner.token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  sourceVersionId = up.data!.uploadDatasetVersion.id;
  analyst = await inviteMember(server, owner.token, 'ANALYST');
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  filtered = await inviteMember(server, owner.token, 'ANALYST');
  for (const input of [
    // The attacker of the report: SECRET masked (the default below ADMIN) and rows filtered.
    { datasetId, role: 'VIEWER', rowFilter: { column: 'region', eq: 'north' } },
    // The target in clear, but only north's rows.
    {
      datasetId,
      userId: filtered.userId,
      rowFilter: { column: 'region', eq: 'north' },
      columnRules: [{ column: 'salary', rule: 'CLEAR' }],
    },
  ]) {
    const res = await server.gql(SET_POLICY, { input }, owner.token);
    expect(res.data?.setDatasetPolicy.__typename, JSON.stringify(res)).toBe('DatasetPolicy');
  }
  const run = await train(owner.token, {
    name: 'salary',
    datasetId,
    target: 'salary',
    features: ['years'],
    task: 'REGRESSION',
    algorithm: 'LINEAR_REGRESSION',
    seed: 3,
    hyperparameters: { epochs: 40, learningRate: 0.1 },
  });
  runId = run.id;
  modelId = run.model.id;
  const done = await waitForRun(runId);
  expect(done.status).toBe('SUCCEEDED');
  modelVersionId = done.modelVersion.id;
}, 180_000);
afterAll(() => server?.close());

describe('predict', () => {
  it('the owner predicts; callers who cannot read the target in every row are refused', async () => {
    const rows = [{ years: 7 }];
    const own = await server.gql(PREDICT, { v: modelVersionId, rows }, owner.token);
    expect(own.data?.predict.__typename, JSON.stringify(own)).toBe('PredictionResult');
    for (const who of [viewer, analyst, filtered]) {
      const res = await server.gql(PREDICT, { v: modelVersionId, rows }, who.token);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
      expect(JSON.stringify(res)).not.toMatch(/3[0-9]{4}/);
    }
    // By alias too.
    await server.gql(
      'mutation($m: ID!, $v: ID!) { setModelAlias(modelId: $m, alias: "production", versionId: $v) { __typename } }',
      { m: modelId, v: modelVersionId },
      owner.token,
    );
    const byAlias = await server.gql(
      `query($m: ID!) { predict(modelId: $m, alias: "production", rows: [{ years: 7 }]) {
        __typename ... on Error { code } } }`,
      { m: modelId },
      viewer.token,
    );
    expect(byAlias.errors?.[0]?.extensions?.code, JSON.stringify(byAlias)).toBe('FORBIDDEN');
  });

  it('follows the caller’s policy as it is now', async () => {
    const grant = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: analyst.userId,
          columnRules: [{ column: 'salary', rule: 'CLEAR' }],
        },
      },
      owner.token,
    );
    expect(grant.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    const allowed = await server.gql(
      PREDICT,
      { v: modelVersionId, rows: [{ years: 7 }] },
      analyst.token,
    );
    expect(allowed.data?.predict.__typename, JSON.stringify(allowed)).toBe('PredictionResult');
    const mask = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: analyst.userId,
          columnRules: [{ column: 'years', rule: 'MASK' }],
        },
      },
      owner.token,
    );
    expect(mask.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    // A feature read masked cannot be supplied either (salary is back to its SECRET default too).
    const refused = await server.gql(
      PREDICT,
      { v: modelVersionId, rows: [{ years: 7 }] },
      analyst.token,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a caller under a row filter predicts with a model they trained themselves', async () => {
    const run = await train(filtered.token, {
      name: 'north salary',
      datasetId,
      target: 'salary',
      features: ['years'],
      task: 'REGRESSION',
      algorithm: 'LINEAR_REGRESSION',
      seed: 4,
      hyperparameters: { epochs: 5 },
    });
    const done = await waitForRun(run.id);
    expect(done.status).toBe('SUCCEEDED');
    const res = await server.gql(
      PREDICT,
      { v: done.modelVersion.id, rows: [{ years: 3 }] },
      filtered.token,
    );
    expect(res.data?.predict.__typename, JSON.stringify(res)).toBe('PredictionResult');
  }, 120_000);
});

describe('batchPredict', () => {
  it('is refused to an analyst who reads the target masked', async () => {
    const res = await server.gql(BATCH, { v: modelVersionId, d: sourceVersionId }, analyst.token);
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
  });

  it('writes predictions as sensitive as the target, so others read them masked', async () => {
    const started = await server.gql(BATCH, { v: modelVersionId, d: sourceVersionId }, owner.token);
    const batch = started.data?.batchPredict;
    expect(batch?.__typename, JSON.stringify(started)).toBe('BatchPrediction');
    const sub = subscribe(
      server.ws(owner.token),
      'subscription($v: ID!) { datasetIngestion(versionId: $v) { status } }',
      { v: batch.versionId },
    );
    await sub.done;
    expect(sub.events.at(-1)?.data?.datasetIngestion.status).toBe('READY');
    const QUERY = `query($id: ID!) { datasetQuery(datasetId: $id, input: { select: ["id", "prediction"] }, first: 100) {
      ... on QueryResult { columns { name rule } rows } } }`;
    const mine = (await server.gql(QUERY, { id: batch.dataset.id }, owner.token)).data
      ?.datasetQuery;
    expect(mine.columns).toEqual([
      { name: 'id', rule: 'CLEAR' },
      { name: 'prediction', rule: 'CLEAR' },
    ]);
    const theirs = (await server.gql(QUERY, { id: batch.dataset.id }, analyst.token)).data
      ?.datasetQuery;
    expect(theirs.columns[1]).toEqual({ name: 'prediction', rule: 'MASK' });
    expect(theirs.rows.every((r: any) => r.prediction === '***')).toBe(true);
  }, 120_000);
});

describe('metrics and history', () => {
  it('are withheld from callers who may not predict, over HTTP, WebSocket and SSE', async () => {
    const mine = (await server.gql(RUN, { id: runId }, owner.token)).data?.trainingRun;
    expect(mine.metrics.rmse).toBeGreaterThan(0);
    expect(mine.history.length).toBeGreaterThan(0);
    for (const who of [viewer, filtered]) {
      const theirs = (await server.gql(RUN, { id: runId }, who.token)).data?.trainingRun;
      expect(theirs, JSON.stringify(theirs)).toEqual({
        status: 'SUCCEEDED',
        history: [],
        metrics: null,
        modelVersion: { id: modelVersionId, metrics: { rmse: null, mae: null, r2: null } },
      });
    }

    // A new run, followed live by the owner and by the viewer on both transports.
    const again = await train(owner.token, { modelId, seed: 5, hyperparameters: { epochs: 6 } });
    const ownerWs = subscribe(server.ws(owner.token), PROGRESS, { id: again.id });
    const viewerWs = subscribe(server.ws(viewer.token), PROGRESS, { id: again.id });
    const viewerSse = sseSubscribe(server.graphqlUrl, PROGRESS, { id: again.id }, viewer.token);
    await Promise.all([ownerWs.done, viewerWs.done, viewerSse.done]);
    const owned = ownerWs.events.map((e: any) => e.data?.trainingProgress);
    expect(owned.some((e: any) => e.kind === 'EPOCH' && e.loss !== null)).toBe(true);
    for (const events of [viewerWs.events, viewerSse.events]) {
      const seen = events.map((e: any) => e.data?.trainingProgress);
      expect(seen.at(-1)?.status, JSON.stringify(events)).toBe('SUCCEEDED');
      for (const e of seen) expect(e).toMatchObject({ loss: null, valLoss: null, metrics: null });
    }
  }, 120_000);
});

describe('a hidden feature or target', () => {
  it('is named in no error: training on it answers as on a missing column', async () => {
    const res = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: analyst.userId,
          columnRules: [{ column: 'salary', rule: 'HIDE' }],
        },
      },
      owner.token,
    );
    expect(res.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    for (const [target, features] of [
      ['salary', ['years']],
      ['years', ['salary']],
    ] as const) {
      const hidden = await server.gql(
        TRAIN,
        { input: { name: `probe ${target}`, datasetId, target, features } },
        analyst.token,
      );
      const missing = await server.gql(
        TRAIN,
        {
          input: {
            name: `probe ${target}`,
            datasetId,
            target: target === 'salary' ? 'nothing' : target,
            features: features.map((f) => (f === 'salary' ? 'nothing' : f)),
          },
        },
        analyst.token,
      );
      expect(hidden.data?.trainModel, JSON.stringify(hidden)).toMatchObject({
        code: 'BAD_USER_INPUT',
      });
      expect(JSON.stringify(hidden).replaceAll('salary', 'nothing')).toBe(JSON.stringify(missing));
    }
  });
});
