import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidePromotion } from '../../src/models/promotion';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id model { id } } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) {
  id status error seed modelVersion { id number aliases }
  driftReport { id drifted }
  promotion { promoted alias metric challenger champion championVersion { id number } margin reason } } }`;
const SET_ALIAS = `mutation($m: ID!, $v: ID!, $alias: String!, $reason: String) {
  setModelAlias(modelId: $m, versionId: $v, alias: $alias, reason: $reason) {
    __typename ... on Model { id } ... on Error { code message } } }`;
const CREATE_MONITOR = `mutation($input: DriftMonitorInput!) { createDriftMonitor(input: $input) {
  __typename ... on DriftMonitor { id retrainOnDrift promotionAlias promotionMargin }
  ... on Error { code message } } }`;
const RUN_CHECK = `mutation($id: ID!, $v: ID) { runDriftCheck(monitorId: $id, currentVersionId: $v) {
  __typename ... on DriftReport { id } ... on Error { code message } } }`;
const REPORTS = `query($id: ID!) { driftReports(monitorId: $id) {
  ... on QueryDriftReportsSuccess { data { id status error drifted retrainRun { id } } } } }`;
const PREDICT = `query($m: ID!) { predict(modelId: $m, alias: "production", rows: [{ x: 1.2, noise: 0.5 }]) {
  __typename ... on PredictionResult { version { number } predictions { value } } ... on Error { code message } } }`;
const HISTORY = `query($id: ID!) { model(id: $id) { id
  aliasHistory { alias version { id number } changedBy { id } reason } } }`;

/**
 * A seeded table where `label` is "high" exactly when x > cut. The old data cut at 0.5 over
 * x in [0, 1); the new data cuts at 1.5 over x in [1, 2): a shift in x and in the rule.
 */
function csv(rows: number, cut: number, offset: number, seed: number): string {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const lines = ['x,noise,label'];
  for (let i = 0; i < rows; i++) {
    const x = offset + next();
    lines.push(`${x.toFixed(4)},${next().toFixed(4)},${x > cut ? 'high' : 'low'}`);
  }
  return `${lines.join('\n')}\n`;
}

async function dataset(name: string, content: string) {
  const created = await server.gql(CREATE, { input: { name } }, owner.token);
  const datasetId = created.data!.createDataset.id as string;
  const versionId = await upload(datasetId, content);
  return { datasetId, versionId };
}

async function upload(datasetId: string, content: string) {
  const up = await server.upload(UPLOAD, { datasetId }, { name: 'rows.csv', content }, owner.token);
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  return up.data!.uploadDatasetVersion.id as string;
}

async function waitFor<T>(read: () => Promise<T | null>, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function finishedRun(id: string) {
  return waitFor(async () => {
    const res = await server.gql(RUN, { id }, owner.token);
    const run = res.data?.trainingRun;
    return run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : null;
  }, `run ${id}`);
}

/** A model trained on the old data and served as `production`. */
async function servedModel(name: string) {
  const { datasetId } = await dataset(name, csv(400, 0.5, 0, 7));
  const res = await server.gql(
    TRAIN,
    {
      input: {
        name: `${name}-model`,
        datasetId,
        target: 'label',
        features: ['x', 'noise'],
        algorithm: 'LOGISTIC_REGRESSION',
        hyperparameters: { epochs: 60, learningRate: 0.1 },
        seed: 11,
      },
    },
    owner.token,
  );
  expect(res.data?.trainModel.__typename, JSON.stringify(res)).toBe('TrainingRun');
  const run = await finishedRun(res.data!.trainModel.id);
  expect(run.status, run.error).toBe('SUCCEEDED');
  const modelId = res.data!.trainModel.model.id as string;
  const alias = await server.gql(
    SET_ALIAS,
    { m: modelId, v: run.modelVersion.id, alias: 'production', reason: 'first release' },
    owner.token,
  );
  expect(alias.data?.setModelAlias.__typename, JSON.stringify(alias)).toBe('Model');
  return { datasetId, modelId, version: run.modelVersion as { id: string; number: number } };
}

async function monitorAndCheck(modelId: string, datasetId: string, input: Record<string, unknown>) {
  const created = await server.gql(
    CREATE_MONITOR,
    { input: { modelId, columns: [{ column: 'x' }], ...input } },
    owner.token,
  );
  expect(created.data?.createDriftMonitor.__typename, JSON.stringify(created)).toBe('DriftMonitor');
  const monitorId = created.data!.createDriftMonitor.id as string;
  const current = await upload(datasetId, csv(400, 1.5, 1, 99));
  const check = await server.gql(RUN_CHECK, { id: monitorId, v: current }, owner.token);
  expect(check.data?.runDriftCheck.__typename, JSON.stringify(check)).toBe('DriftReport');
  const report = await waitFor(async () => {
    const res = await server.gql(REPORTS, { id: monitorId }, owner.token);
    const r = res.data?.driftReports?.data?.[0];
    const waitRun = Boolean(input.retrainOnDrift) && r?.drifted;
    return r && r.status !== 'QUEUED' && r.status !== 'RUNNING' && (!waitRun || r.retrainRun)
      ? r
      : null;
  }, 'the drift report and its retraining run');
  return { monitorId, report, current };
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'retrain');
}, 60_000);
afterAll(() => server?.close());

describe('the promotion rule', () => {
  const base = {
    alias: 'production',
    metric: 'accuracy',
    challengerVersion: 3,
    championVersion: 2,
    margin: 0.02,
  };
  it('promotes only at or past the margin, and says so with the figures', () => {
    const past = decidePromotion({ ...base, challenger: 0.91, champion: 0.88 });
    expect(past.promoted).toBe(true);
    expect(past.reason).toBe(
      'v3 beat v2: accuracy 0.91 vs 0.88 of v2 on the same held-out rows, a gain of 0.03 ≥ margin 0.02.',
    );
    expect(decidePromotion({ ...base, challenger: 0.9, champion: 0.88 }).promoted).toBe(true);
    const short = decidePromotion({ ...base, challenger: 0.899, champion: 0.88 });
    expect(short.promoted).toBe(false);
    expect(short.reason).toContain('waits for a person');
    expect(short.reason).toContain('gain of 0.019 < margin 0.02');
    expect(decidePromotion({ ...base, challenger: 0.7, champion: 0.88 }).promoted).toBe(false);
  });
  it('leaves the decision to a person without a served version or a measurable metric', () => {
    const none = decidePromotion({ ...base, championVersion: null, challenger: 1, champion: null });
    expect(none).toEqual({
      promoted: false,
      reason: 'v3 waits for a person: no version holds "production" to compare with.',
    });
    const unmeasured = decidePromotion({ ...base, challenger: 0.9, champion: null });
    expect(unmeasured.promoted).toBe(false);
    expect(unmeasured.reason).toContain('could not both be measured');
  });
});

describe('retraining on drift', () => {
  it('refuses to retrain a dataset monitor, a bad alias and a bad margin, by name', async () => {
    const { datasetId } = await dataset('plain', csv(50, 0.5, 0, 3));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ datasetId, retrainOnDrift: true }, 'Only a model monitor can retrain on drift'],
      [{ datasetId, promotionAlias: 'Prod uction' }, 'promotionAlias'],
      [{ datasetId, promotionAlias: 'challenger' }, 'promotionAlias cannot be "challenger"'],
      [{ datasetId, promotionMargin: 2 }, 'promotionMargin must be between 0 and 1'],
    ];
    for (const [input, message] of cases) {
      const res = await server.gql(CREATE_MONITOR, { input }, owner.token);
      expect(res.data?.createDriftMonitor, JSON.stringify(res)).toMatchObject({
        code: 'BAD_USER_INPUT',
      });
      expect(res.data!.createDriftMonitor.message).toContain(message);
    }
  });

  it('queues a run on the drifted version, makes it the challenger and promotes it past the margin', async () => {
    const { datasetId, modelId, version } = await servedModel('shifting');
    // Served by alias before the drift: version 1 (and its resolution cached).
    const before = await server.gql(PREDICT, { m: modelId }, owner.token);
    expect(before.data?.predict, JSON.stringify(before)).toMatchObject({ version: { number: 1 } });
    const { report, current, monitorId } = await monitorAndCheck(modelId, datasetId, {
      retrainOnDrift: true,
      promotionMargin: 0.05,
    });
    expect(report.status).toBe('SUCCEEDED');
    expect(report.drifted).toBe(true);
    const run = await finishedRun(report.retrainRun.id);
    expect(run.status, run.error).toBe('SUCCEEDED');
    expect(run.seed).toBe(11);
    expect(run.driftReport).toEqual({ id: report.id, drifted: true });
    // The old model cut at 0.5, so it calls every new row "high"; the new one learned the cut
    // at 1.5: far past a 0.05 margin on the same held-out rows.
    expect(run.promotion).toMatchObject({
      promoted: true,
      alias: 'production',
      metric: 'accuracy',
      margin: 0.05,
      championVersion: { id: version.id, number: 1 },
    });
    expect(run.promotion.challenger - run.promotion.champion).toBeGreaterThanOrEqual(0.05);
    expect(run.promotion.reason).toMatch(/^v2 beat v1: accuracy /);
    expect(run.modelVersion.number).toBe(2);
    expect([...run.modelVersion.aliases].sort()).toEqual(['challenger', 'production']);
    // The promotion reaches predictions by alias at once: the cached resolution was dropped.
    const after = await server.gql(PREDICT, { m: modelId }, owner.token);
    expect(after.data?.predict, JSON.stringify(after)).toMatchObject({
      version: { number: 2 },
      predictions: [{ value: 'low' }],
    });

    const history = await server.gql(HISTORY, { id: modelId }, owner.token);
    const changes = history.data!.model.aliasHistory as any[];
    // Newest first: the promotion, the challenger, then the person's first release.
    expect(changes.map((c) => [c.alias, c.version.number])).toEqual([
      ['production', 2],
      ['challenger', 2],
      ['production', 1],
    ]);
    expect(changes[0].changedBy).toBeNull();
    expect(changes[0].reason).toBe(`Promoted automatically: ${run.promotion.reason}`);
    expect(changes[1].reason).toContain(`Retrained on drift (report `);
    expect(changes[2]).toMatchObject({ changedBy: { id: owner.userId }, reason: 'first release' });

    // A second drifted check of the same version does not queue a second run.
    const again = await server.gql(RUN_CHECK, { id: monitorId, v: current }, owner.token);
    expect(again.data?.runDriftCheck.__typename, JSON.stringify(again)).toBe('DriftReport');
    const second = await waitFor(async () => {
      const res = await server.gql(REPORTS, { id: monitorId }, owner.token);
      const r = (res.data?.driftReports?.data ?? []).find(
        (x: any) => x.id === again.data!.runDriftCheck.id,
      );
      return r && r.status === 'SUCCEEDED' ? r : null;
    }, 'the second report');
    expect(second).toMatchObject({ drifted: true, retrainRun: null });
    const runs = await server.gql(
      'query($id: ID!) { model(id: $id) { runs { id } } }',
      { id: modelId },
      owner.token,
    );
    expect(runs.data!.model.runs).toHaveLength(2);
  }, 240_000);

  it('leaves the served version in place below the margin: the challenger waits for a person', async () => {
    const { datasetId, modelId, version } = await servedModel('waiting');
    const { report } = await monitorAndCheck(modelId, datasetId, {
      retrainOnDrift: true,
      promotionMargin: 1,
    });
    const run = await finishedRun(report.retrainRun.id);
    expect(run.status, run.error).toBe('SUCCEEDED');
    expect(run.promotion).toMatchObject({ promoted: false, margin: 1 });
    expect(run.promotion.reason).toMatch(/^v2 waits for a person: accuracy .* < margin 1\.$/);
    expect(run.modelVersion.aliases).toEqual(['challenger']);
    const history = await server.gql(HISTORY, { id: modelId }, owner.token);
    const production = (history.data!.model.aliasHistory as any[]).filter(
      (c) => c.alias === 'production',
    );
    expect(production.map((c) => c.version.id)).toEqual([version.id]);
  }, 240_000);

  it('does not retrain when the monitor does not ask to, and shows the outcome only to those who may see metrics', async () => {
    const { datasetId, modelId } = await servedModel('steady');
    const { report } = await monitorAndCheck(modelId, datasetId, {});
    expect(report.drifted).toBe(true);
    expect(report.retrainRun).toBeNull();

    // A viewer whose policy masks a feature sees neither metrics nor the promotion outcome.
    const { datasetId: d2, modelId: m2 } = await servedModel('guarded');
    const { report: r2 } = await monitorAndCheck(m2, d2, { retrainOnDrift: true });
    const run = await finishedRun(r2.retrainRun.id);
    expect(run.promotion).not.toBeNull();
    const viewer = await inviteMember(server, owner.token, 'VIEWER');
    const policy = await server.gql(
      `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) { __typename } }`,
      { input: { datasetId: d2, role: 'VIEWER', columnRules: [{ column: 'x', rule: 'MASK' }] } },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    const seen = await server.gql(RUN, { id: run.id }, viewer.token);
    expect(seen.data?.trainingRun?.status, JSON.stringify(seen)).toBe('SUCCEEDED');
    expect(seen.data!.trainingRun.promotion).toBeNull();
  }, 240_000);
});
