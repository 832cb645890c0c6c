import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vegaFile } from '../datasets/sources';
import {
  countOf,
  inviteMember,
  signUpOwner,
  startTestServer,
  storedTables,
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
  kind status epoch totalEpochs step totalSteps candidate loss samplesPerSecond error } }`;

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

describe('progress', () => {
  it('AUTO with trials: step never decreases and never passes totalSteps, across candidates and the refit', async () => {
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'species-search',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'AUTO',
          trials: 2,
          seed: 21,
          hyperparameters: { epochs: 4 },
        },
      },
      owner.token,
    );
    const id = res.data!.trainModel.id;
    const sub = subscribe(server.ws(owner.token), PROGRESS, { id });
    await sub.done;
    expect(sub.errors).toEqual([]);
    const events = sub.events.map((e) => e.data?.trainingProgress);
    const epochs = events.filter((e) => e.kind === 'EPOCH');
    // 2 trials of each algorithm, then the refit of the winner: the epoch count restarts 5 times.
    expect(new Set(epochs.map((e) => e.candidate)).size).toBe(5);
    expect(epochs.map((e) => e.step)).toEqual(epochs.map((_, i) => i + 1));
    let last = 0;
    for (const e of events) {
      if (e.step === null) continue;
      expect(e.step).toBeGreaterThanOrEqual(last);
      expect(e.step).toBeLessThanOrEqual(e.totalSteps);
      last = e.step;
    }
    const run = (
      await server.gql(
        'query($id: ID!) { trainingRun(id: $id) { status epochsDone step totalSteps candidate } }',
        { id },
        owner.token,
      )
    ).data?.trainingRun;
    expect(run).toMatchObject({ status: 'SUCCEEDED', epochsDone: 20, step: 20, totalSteps: 20 });
    expect(run.candidate).toMatch(/:refit$/);
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', step: 20, totalSteps: 20 });
  }, 120_000);
});

const PREDICT = `query($modelId: ID, $alias: String, $versionId: ID, $rows: [JSON!]!) {
  predict(modelId: $modelId, alias: $alias, versionId: $versionId, rows: $rows) {
    __typename
    ... on PredictionResult { version { id number } predictions { value probabilities } }
    ... on InputError { code message field }
    ... on Error { code message } } }`;

describe('registry and predictions', () => {
  it('trains cars mpg to ≥ 0.75 R², then predicts through an alias with the same pipeline', async () => {
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'mpg',
          datasetId: ids.cars,
          target: 'Miles_per_Gallon',
          features: [
            'Cylinders',
            'Displacement',
            'Horsepower',
            'Weight_in_lbs',
            'Acceleration',
            'Year',
            'Origin',
          ],
          seed: 7,
        },
      },
      owner.token,
    );
    const run = await waitForRun(res.data!.trainModel.id);
    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED');
    expect(run.metrics.r2).toBeGreaterThanOrEqual(0.75);
    const modelId = res.data!.trainModel.model.id;

    const alias = await server.gql(
      `mutation($m: ID!, $v: ID!) { setModelAlias(modelId: $m, alias: "production", versionId: $v) {
        __typename ... on Model { versionByAlias(alias: "production") { id } } } }`,
      { m: modelId, v: run.modelVersion.id },
      owner.token,
    );
    expect(alias.data?.setModelAlias.versionByAlias.id).toBe(run.modelVersion.id);

    const rows = [
      {
        Cylinders: 4,
        Displacement: 97,
        Horsepower: 88,
        Weight_in_lbs: 2130,
        Acceleration: 14.5,
        Year: '1970-01-01',
        Origin: 'Japan',
      },
      {
        Cylinders: 8,
        Displacement: 350,
        Horsepower: 165,
        Weight_in_lbs: 3693,
        Acceleration: 11.5,
        Year: '1970-01-01',
        Origin: 'USA',
      },
    ];
    const byAlias = await server.gql(PREDICT, { modelId, alias: 'production', rows }, owner.token);
    const byVersion = await server.gql(
      PREDICT,
      { versionId: run.modelVersion.id, rows },
      owner.token,
    );
    const predictions = byAlias.data?.predict.predictions;
    expect(predictions, JSON.stringify(byAlias)).toHaveLength(2);
    expect(predictions).toEqual(byVersion.data?.predict.predictions);
    // A small Japanese four-cylinder goes further per gallon than a big American V8.
    expect(predictions[0].value).toBeGreaterThan(predictions[1].value);

    const missing = await server.gql(
      PREDICT,
      { versionId: run.modelVersion.id, rows: [{ Cylinders: 4 }] },
      owner.token,
    );
    expect(missing.data?.predict).toMatchObject({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    const wrongType = await server.gql(
      PREDICT,
      { versionId: run.modelVersion.id, rows: [{ ...rows[0], Horsepower: 'lots' }] },
      owner.token,
    );
    expect(wrongType.data?.predict).toMatchObject({
      __typename: 'InputError',
      field: 'Horsepower',
    });
  }, 180_000);

  it('keeps an alias history that answers which version held it when', async () => {
    const first = await server.gql(
      TRAIN,
      {
        input: {
          name: 'species-history',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'LOGISTIC_REGRESSION',
          seed: 1,
          hyperparameters: { epochs: 3 },
        },
      },
      owner.token,
    );
    const modelId = first.data!.trainModel.model.id;
    const v1 = (await waitForRun(first.data!.trainModel.id)).modelVersion.id;
    const second = await server.gql(
      TRAIN,
      {
        input: {
          modelId,
          algorithm: 'LOGISTIC_REGRESSION',
          seed: 2,
          hyperparameters: { epochs: 3 },
        },
      },
      owner.token,
    );
    const v2 = (await waitForRun(second.data!.trainModel.id)).modelVersion.id;
    const set = `mutation($m: ID!, $v: ID!) { setModelAlias(modelId: $m, alias: "champion", versionId: $v) { __typename } }`;
    await server.gql(set, { m: modelId, v: v1 }, owner.token);
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await server.gql(set, { m: modelId, v: v2 }, owner.token);
    const q = await server.gql(
      `query($m: ID!, $at: DateTime) { model(id: $m) {
        now: versionByAlias(alias: "champion") { id }
        then: versionByAlias(alias: "champion", at: $at) { id }
        aliasHistory(alias: "champion") { version { id } }
        runs { id status modelVersion { id aliases } } } }`,
      { m: modelId, at: between },
      owner.token,
    );
    expect(q.data?.model.now.id).toBe(v2);
    expect(q.data?.model.then.id).toBe(v1);
    expect(q.data?.model.aliasHistory.map((h: any) => h.version.id)).toEqual([v2, v1]);
    // Newest first, each with the aliases its version holds now.
    expect(q.data?.model.runs.map((r: any) => r.id)).toEqual([
      second.data!.trainModel.id,
      first.data!.trainModel.id,
    ]);
    expect(q.data?.model.runs.map((r: any) => r.modelVersion.aliases)).toEqual([['champion'], []]);

    const sorted = await server.gql(
      `query($m: ID!) { trainingRuns(filter: { modelId: $m }, orderByMetric: accuracy) { metrics { accuracy } } }`,
      { m: modelId },
      owner.token,
    );
    const accuracies = sorted.data?.trainingRuns.map((r: any) => r.metrics.accuracy);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));
  }, 180_000);
});

describe('control and failure', () => {
  it('cancels a running run within one epoch', async () => {
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'slow',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'MLP',
          seed: 3,
          hyperparameters: { epochs: 500 },
        },
      },
      owner.token,
    );
    const id = res.data!.trainModel.id;
    const sub = subscribe(server.ws(owner.token), PROGRESS, { id });
    const deadline = Date.now() + 60_000;
    while (!sub.events.some((e) => e.data?.trainingProgress.kind === 'EPOCH')) {
      if (Date.now() > deadline) throw new Error('no epoch');
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancel = await server.gql(
      'mutation($id: ID!) { cancelTrainingRun(id: $id) { __typename ... on TrainingRun { cancelRequested epochsDone } } }',
      { id },
      owner.token,
    );
    expect(cancel.data?.cancelTrainingRun.cancelRequested).toBe(true);
    // Epochs done when the cancel was recorded: the run's own count (a subscriber, whose events
    // are each re-checked against its access, may be a few events behind the run).
    const epochsAtCancel = Math.max(
      cancel.data!.cancelTrainingRun.epochsDone as number,
      sub.events.filter((e) => e.data?.trainingProgress.kind === 'EPOCH').length,
    );
    await sub.done;
    const run = await waitForRun(id);
    expect(run.status).toBe('CANCELLED');
    // The epoch in flight may finish, and messages already on their way may land: a few, not hundreds.
    expect(run.epochsDone).toBeLessThanOrEqual(epochsAtCancel + 3);
    expect(run.epochsDone).toBeLessThan(500);
    expect(sub.events.at(-1)?.data?.trainingProgress.status).toBe('CANCELLED');
  }, 120_000);

  it('a training process killed mid-run leaves the run FAILED, and the pool recovers', async () => {
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'doomed',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'MLP',
          seed: 4,
          hyperparameters: { epochs: 500 },
        },
      },
      owner.token,
    );
    const id = res.data!.trainModel.id;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = (await server.gql(RUN, { id }, owner.token)).data?.trainingRun;
      if (run?.epochsDone > 0) break;
      if (Date.now() > deadline) throw new Error('never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const [pid] = server.platform.workerProcesses();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    const run = await waitForRun(id);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/exited unexpectedly \(SIGKILL\)/);

    const again = await server.gql(
      TRAIN,
      {
        input: { modelId: res.data!.trainModel.model.id, seed: 5, hyperparameters: { epochs: 2 } },
      },
      owner.token,
    );
    expect((await waitForRun(again.data!.trainModel.id)).status).toBe('SUCCEEDED');
  }, 120_000);

  it('a subscriber without access to the model gets nothing', async () => {
    const outsider = await signUpOwner(server, 'spy');
    const res = await server.gql(
      TRAIN,
      {
        input: {
          name: 'secret',
          datasetId: ids.penguins,
          target: 'Species',
          seed: 6,
          hyperparameters: { epochs: 2 },
        },
      },
      owner.token,
    );
    const id = res.data!.trainModel.id;
    const sub = subscribe(server.ws(outsider.token), PROGRESS, { id });
    await sub.done;
    const errors = [...sub.events.flatMap((e) => e.errors ?? []), ...(sub.errors.flat() as any[])];
    expect(errors.map((e: any) => e.extensions?.code)).toContain('NOT_FOUND');
    expect(sub.events.filter((e) => e.data)).toEqual([]);
    await waitForRun(id);
    const peek = await server.gql(RUN, { id }, outsider.token);
    expect(peek.data?.trainingRun).toBeNull();

    // A member who cannot read a feature in clear cannot train on it.
    const viewer = await inviteMember(server, owner.token, 'ANALYST');
    await server.gql(
      `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) { __typename } }`,
      {
        input: {
          datasetId: ids.penguins,
          userId: viewer.userId,
          columnRules: [{ column: 'Island', rule: 'MASK' }],
        },
      },
      owner.token,
    );
    const refused = await server.gql(
      TRAIN,
      {
        input: {
          name: 'masked',
          datasetId: ids.penguins,
          target: 'Species',
          features: ['Island', 'Sex'],
        },
      },
      viewer.token,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  }, 120_000);
});

describe('batchPredict', () => {
  it('writes a dataset with a prediction per row, with progress, as the caller sees the rows', async () => {
    const train = await server.gql(
      TRAIN,
      {
        input: {
          name: 'batch-species',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'LOGISTIC_REGRESSION',
          seed: 11,
          hyperparameters: { epochs: 30 },
        },
      },
      owner.token,
    );
    const run = await waitForRun(train.data!.trainModel.id);
    expect(run.status).toBe('SUCCEEDED');
    const dataset = await server.gql(
      'query($id: ID!) { dataset(id: $id) { currentVersion { id rowCount } } }',
      { id: ids.penguins },
      owner.token,
    );
    const source = dataset.data!.dataset.currentVersion;
    const started = await server.gql(
      `mutation($v: ID!, $d: ID!) { batchPredict(versionId: $v, datasetVersionId: $d, newDatasetName: "penguins scored") {
        __typename ... on BatchPrediction { versionId dataset { id } } ... on Error { code message } } }`,
      { v: run.modelVersion.id, d: source.id },
      owner.token,
    );
    const batch = started.data?.batchPredict;
    expect(batch?.__typename, JSON.stringify(started)).toBe('BatchPrediction');
    const sub = subscribe(
      server.ws(owner.token),
      'subscription($v: ID!) { datasetIngestion(versionId: $v) { status rows error } }',
      { v: batch.versionId },
    );
    await sub.done;
    const last = sub.events.at(-1)?.data?.datasetIngestion;
    expect(last, JSON.stringify(sub.events)).toMatchObject({
      status: 'READY',
      rows: source.rowCount,
    });

    const rows = await server.gql(
      `query($id: ID!) { datasetQuery(datasetId: $id, input: { select: ["Species", "prediction", "probability"] }, first: 1000) {
        ... on QueryResult { columns { name type } rows totalCount } } }`,
      { id: batch.dataset.id },
      owner.token,
    );
    const result = rows.data?.datasetQuery;
    expect(result.totalCount).toBe(source.rowCount);
    const agree = result.rows.filter((r: any) => r.prediction === r.Species).length;
    expect(agree / result.rows.length).toBeGreaterThan(0.9);
    expect(result.rows.every((r: any) => r.probability > 0 && r.probability <= 1)).toBe(true);

    // Training data and batch predictions read rows through the gate: both are in the audit log.
    for (const action of ['TRAIN', 'PREDICT']) {
      const log = await server.gql(
        `query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node { rowCount } } } }`,
        { f: { action, datasetId: ids.penguins } },
        owner.token,
      );
      expect(log.data?.auditEvents.edges.length, action).toBeGreaterThan(0);
      expect(log.data?.auditEvents.edges[0].node.rowCount).toBe(source.rowCount);
    }

    const refused = await server.gql(
      `mutation($v: ID!, $d: ID!) { batchPredict(versionId: $v, datasetVersionId: $d) { __typename } }`,
      { v: run.modelVersion.id, d: source.id },
      (await signUpOwner(server, 'other')).token,
    );
    expect(refused.data?.batchPredict.__typename).toBe('NotFoundError');
  }, 120_000);
  it('a pool process killed during a batch prediction fails it, leaves nothing behind, and the pool goes on', async () => {
    const train = await server.gql(
      TRAIN,
      {
        input: {
          name: 'batch-doomed',
          datasetId: ids.penguins,
          target: 'Species',
          algorithm: 'LOGISTIC_REGRESSION',
          seed: 12,
          hyperparameters: { epochs: 2 },
        },
      },
      owner.token,
    );
    const model = await waitForRun(train.data!.trainModel.id);
    expect(model.status).toBe('SUCCEEDED');
    // Enough rows for many batches, so the run is still predicting when its process dies.
    const penguins = JSON.parse(vegaFile('penguins.json').toString()) as object[];
    const many = Array.from({ length: 200 }, () => penguins)
      .flat()
      .map((row) => JSON.stringify(row))
      .join('\n');
    const created = await server.gql(CREATE, { input: { name: 'many penguins' } }, owner.token);
    const up = await server.upload(
      `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
        __typename ... on DatasetVersion { id rowCount } ... on Error { code message } } }`,
      { datasetId: created.data!.createDataset.id },
      { name: 'many.ndjson', content: Buffer.from(many) },
      owner.token,
    );
    const source = up.data!.uploadDatasetVersion;
    expect(source.rowCount, JSON.stringify(up)).toBe(penguins.length * 200);
    const tablesBefore = await storedTables(server);

    const BATCH = `mutation($v: ID!, $d: ID!) { batchPredict(versionId: $v, datasetVersionId: $d) {
      __typename ... on BatchPrediction { versionId dataset { id } run { id status } } ... on Error { code message } } }`;
    const started = await server.gql(
      BATCH,
      { v: model.modelVersion.id, d: source.id },
      owner.token,
    );
    const batch = started.data?.batchPredict;
    expect(batch?.run.status, JSON.stringify(started)).toBe('QUEUED');
    const sub = subscribe(
      server.ws(owner.token),
      'subscription($v: ID!) { datasetIngestion(versionId: $v) { status rows error } }',
      { v: batch.versionId },
    );
    const RUN_STATE =
      'query($id: ID!) { predictionRun(id: $id) { status step totalSteps error dataset { id } } }';
    const state = async () =>
      (await server.gql(RUN_STATE, { id: batch.run.id }, owner.token)).data?.predictionRun;
    const deadline = Date.now() + 60_000;
    for (let s = await state(); !(s.status === 'RUNNING' && s.step > 0); s = await state()) {
      if (s.status !== 'QUEUED' && s.status !== 'RUNNING') throw new Error(JSON.stringify(s));
      if (Date.now() > deadline) throw new Error('never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    const [pid] = server.platform.workerProcesses();
    process.kill(pid!, 'SIGKILL');

    let run = await state();
    while (run.status === 'RUNNING' || run.status === 'QUEUED') {
      await new Promise((r) => setTimeout(r, 100));
      run = await state();
    }
    expect(run).toMatchObject({ status: 'FAILED', dataset: null });
    expect(run.error).toMatch(/exited unexpectedly \(SIGKILL\)/);
    expect(run.step).toBeLessThanOrEqual(run.totalSteps);
    // The follower ends with FAILED, also when the dataset was removed before its check.
    await sub.done;
    const statuses = sub.events.map((e) => e.data?.datasetIngestion.status);
    expect(statuses).not.toContain('READY');
    expect(statuses.at(-1)).toBe('FAILED');
    // Nothing of it remains: no version table, no version row, no dataset.
    expect(await storedTables(server)).toBe(tablesBefore);
    const versionHex = (
      Buffer.from(batch.versionId, 'base64').toString().split(':')[1] ?? ''
    ).replaceAll('-', '');
    expect(versionHex).toHaveLength(32);
    expect(
      await countOf(
        server,
        `select count(*)::int as n from dataset_versions where replace(id::text, '-', '') = '${versionHex}'`,
      ),
    ).toBe(0);
    const gone = await server.gql(
      'query($id: ID!) { dataset(id: $id) { id } }',
      { id: batch.dataset.id },
      owner.token,
    );
    expect(gone.data?.dataset).toBeNull();

    // The pool replaced its process: the next batch prediction and training run succeed.
    const small = await server.gql(
      'query($id: ID!) { dataset(id: $id) { currentVersion { id rowCount } } }',
      { id: ids.penguins },
      owner.token,
    );
    const again = await server.gql(
      BATCH,
      { v: model.modelVersion.id, d: small.data!.dataset.currentVersion.id },
      owner.token,
    );
    const follow = subscribe(
      server.ws(owner.token),
      'subscription($v: ID!) { datasetIngestion(versionId: $v) { status rows error } }',
      { v: again.data!.batchPredict.versionId },
    );
    await follow.done;
    expect(follow.events.at(-1)?.data?.datasetIngestion).toMatchObject({
      status: 'READY',
      rows: small.data!.dataset.currentVersion.rowCount,
    });
    const retrain = await server.gql(
      TRAIN,
      {
        input: {
          modelId: train.data!.trainModel.model.id,
          seed: 13,
          hyperparameters: { epochs: 2 },
        },
      },
      owner.token,
    );
    expect((await waitForRun(retrain.data!.trainModel.id)).status).toBe('SUCCEEDED');
  }, 180_000);
});
