/**
 * Predictions from memory: a model version is made ready once and reused (versions never
 * change), concurrent small calls share one forward pass, an alias is remembered until it is
 * changed — by this API process or, through the bus, by another one on PostgreSQL — and none of
 * it skips the access checks, which run on every call (attackers first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, query } from '../../db/client';
import type { ModelVersion } from '../../db/schema/models';
import { createLogger } from '../../src/log';
import { cacheStats, predictRows } from '../../src/models/cache';
import { predict } from '../../src/models/train';
import type { ModelArtifact } from '../../src/models/types';
import { type Platform, startPlatform } from '../../src/platform';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
  usingPostgres,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let modelId: string;
let datasetId: string;
/** Global ids of the two versions, and their rows. */
let v1: string;
let v2: string;
let rows1: ModelVersion;
let rows2: ModelVersion;

const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id model { id } } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status error modelVersion { id } } }`;
const PREDICT = `query($v: ID!, $rows: [JSON!]!) { predict(versionId: $v, rows: $rows) {
  __typename ... on PredictionResult { predictions { value } } ... on Error { code message } } }`;
const PREDICT_ALIAS = `query($m: ID!, $rows: [JSON!]!) { predict(modelId: $m, alias: "prod", rows: $rows) {
  __typename ... on PredictionResult { version { id } predictions { value } } ... on Error { code message } } }`;
const SET_ALIAS = `mutation($m: ID!, $v: ID!) { setModelAlias(modelId: $m, alias: "prod", versionId: $v) {
  __typename ... on Error { code message } } }`;

/** y = 3x + 5 over 50 rows: both versions learn it, to different weights. */
const CSV = `x,y\n${Array.from({ length: 50 }, (_, i) => `${i % 25},${3 * (i % 25) + 5}`).join('\n')}\n`;

async function trainVersion(input: Record<string, unknown>): Promise<string> {
  const res = await server.gql(TRAIN, { input }, owner.token);
  expect(res.data?.trainModel.__typename, JSON.stringify(res)).toBe('TrainingRun');
  modelId = res.data!.trainModel.model.id;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await server.gql(RUN, { id: res.data!.trainModel.id }, owner.token)).data
      ?.trainingRun;
    if (run?.status === 'SUCCEEDED') return run.modelVersion.id as string;
    if (run && ['FAILED', 'CANCELLED'].includes(run.status)) throw new Error(JSON.stringify(run));
    if (Date.now() > deadline) throw new Error('training did not finish');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The version rows, in the order they were made. */
async function versionRows(): Promise<ModelVersion[]> {
  const found = await query<{ id: string; run_id: string; artifact: unknown }>(
    server.database,
    'select id::text, run_id::text, artifact::text as artifact from model_versions order by number',
  );
  return found.map(
    (r) =>
      ({
        id: r.id,
        runId: r.run_id,
        artifact: JSON.parse(String(r.artifact)),
      }) as unknown as ModelVersion,
  );
}

async function predictOver(base: TestServer['gql'], version: string, x: number, token: string) {
  const res = await base(PREDICT, { v: version, rows: [{ x }] }, token);
  expect(res.data?.predict.__typename, JSON.stringify(res)).toBe('PredictionResult');
  return res.data!.predict.predictions[0].value as number;
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'cache');
  const created = await server.gql(
    `mutation { createDataset(input: { name: "line" }) { ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  datasetId = created.data!.createDataset.id as string;
  const up = await server.upload(
    `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
      __typename ... on DatasetVersion { id } ... on Error { code message } } }`,
    { datasetId },
    { name: 'line.csv', content: CSV },
    owner.token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  const common = { task: 'REGRESSION', algorithm: 'LINEAR_REGRESSION' };
  v1 = await trainVersion({
    ...common,
    datasetId,
    name: 'line',
    target: 'y',
    features: ['x'],
    seed: 1,
    hyperparameters: { epochs: 5, learningRate: 0.05 },
  });
  v2 = await trainVersion({
    ...common,
    modelId,
    seed: 2,
    hyperparameters: { epochs: 60, learningRate: 0.1 },
  });
  [rows1, rows2] = (await versionRows()) as [ModelVersion, ModelVersion];
}, 300_000);
afterAll(() => server?.close());

describe('predictions from memory', () => {
  it('another org gets NOT_FOUND and a member who cannot read the target FORBIDDEN, cache warm or not', async () => {
    await predictOver(server.gql, v1, 3, owner.token);
    const stranger = await signUpOwner(server, 'stranger');
    const viewer = await inviteMember(server, owner.token, 'VIEWER');
    const policy = await server.gql(
      `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) { __typename } }`,
      {
        input: {
          datasetId,
          role: 'VIEWER',
          columnRules: [{ column: 'y', rule: 'MASK' }],
        },
      },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    for (const [who, code] of [
      [stranger.token, 'NOT_FOUND'],
      [viewer.token, 'FORBIDDEN'],
    ] as const) {
      const byId = await server.gql(PREDICT, { v: v1, rows: [{ x: 3 }] }, who);
      const got = byId.data?.predict?.code ?? byId.errors?.[0]?.extensions?.code;
      expect(got, JSON.stringify(byId)).toBe(code);
      expect(JSON.stringify(byId)).not.toMatch(/"value"/);
    }
    // The stranger cannot learn the alias exists either.
    await server.gql(SET_ALIAS, { m: modelId, v: v1 }, owner.token);
    const byAlias = await server.gql(
      PREDICT_ALIAS,
      { m: modelId, rows: [{ x: 3 }] },
      stranger.token,
    );
    const code = byAlias.data?.predict?.code ?? byAlias.errors?.[0]?.extensions?.code;
    expect(code, JSON.stringify(byAlias)).toBe('NOT_FOUND');
  });

  it('makes a version ready once and predicts what the model itself predicts', async () => {
    await predictOver(server.gql, v2, 1, owner.token);
    const loads = cacheStats.loads;
    const values: number[] = [];
    for (const x of [0, 7, 11.5, 24])
      values.push(await predictOver(server.gql, v2, x, owner.token));
    expect(cacheStats.loads).toBe(loads);
    const expected = await predict(
      rows2.artifact as ModelArtifact,
      [0, 7, 11.5, 24].map((x) => ({ x })),
    );
    expect(values).toEqual(expected.map((p) => p.value));
  });

  it('runs concurrent calls in one forward pass; a bad row fails only its own call', async () => {
    const passes = cacheStats.passes;
    const xs = Array.from({ length: 40 }, (_, i) => i * 0.75);
    const calls = xs.map((x) => predictRows(server.config.tfBackend, rows1, [{ x }]));
    const bad = predictRows(server.config.tfBackend, rows1, [{ x: 'not a number' }]);
    const results = await Promise.all(calls);
    await expect(bad).rejects.toThrow(/x/);
    expect(cacheStats.passes - passes).toBe(1);
    const alone = await predict(
      rows1.artifact as ModelArtifact,
      xs.map((x) => ({ x })),
    );
    results.forEach((r, i) => {
      expect(r).toHaveLength(1);
      expect(r[0]!.value as number).toBeCloseTo(alone[i]!.value as number, 4);
    });
  });

  it('follows setModelAlias in this process at once', async () => {
    await server.gql(SET_ALIAS, { m: modelId, v: v1 }, owner.token);
    const first = await server.gql(PREDICT_ALIAS, { m: modelId, rows: [{ x: 4 }] }, owner.token);
    expect(first.data?.predict.version.id, JSON.stringify(first)).toBe(v1);
    const switched = await server.gql(SET_ALIAS, { m: modelId, v: v2 }, owner.token);
    expect(switched.data?.setModelAlias.__typename, JSON.stringify(switched)).toBe('Model');
    const second = await server.gql(PREDICT_ALIAS, { m: modelId, rows: [{ x: 4 }] }, owner.token);
    expect(second.data?.predict.version.id).toBe(v2);
    expect(second.data?.predict.predictions[0].value).toBe(
      (await predict(rows2.artifact as ModelArtifact, [{ x: 4 }]))[0]!.value,
    );
  });

  describe.skipIf(!usingPostgres)('two API processes on PostgreSQL', () => {
    let other: Platform;
    let otherUrl: string;
    beforeAll(async () => {
      // A second API process: its own connections, its own bus (LISTEN) and alias cache.
      const database = await openDatabase(server.config.database);
      other = await startPlatform({
        config: server.config,
        database,
        log: createLogger('silent'),
        port: 0,
        host: '127.0.0.1',
      });
      otherUrl = `${other.server.url}/graphql`;
      const close = other.close.bind(other);
      other.close = async () => {
        await close();
        await database.close();
      };
    }, 60_000);
    afterAll(() => other?.close());

    async function otherGql(q: string, variables: Record<string, unknown>) {
      const res = await fetch(otherUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ query: q, variables }),
      });
      return (await res.json()) as { data?: any; errors?: any };
    }

    it('an alias changed through one process is followed by the other', async () => {
      await server.gql(SET_ALIAS, { m: modelId, v: v1 }, owner.token);
      const before = await otherGql(PREDICT_ALIAS, { m: modelId, rows: [{ x: 4 }] });
      expect(before.data?.predict.version.id, JSON.stringify(before)).toBe(v1);
      // Warm: the other process now remembers prod → v1.
      expect(
        (await otherGql(PREDICT_ALIAS, { m: modelId, rows: [{ x: 4 }] })).data?.predict.version.id,
      ).toBe(v1);
      await server.gql(SET_ALIAS, { m: modelId, v: v2 }, owner.token);
      // The change reaches it through the bus (NOTIFY), so it follows within moments — and
      // without the event it would answer v1 for as long as it runs.
      const deadline = Date.now() + 10_000;
      let seen = v1;
      while (seen === v1 && Date.now() < deadline) {
        seen = (await otherGql(PREDICT_ALIAS, { m: modelId, rows: [{ x: 4 }] })).data?.predict
          .version.id;
        if (seen === v1) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toBe(v2);
    });
  });
});

describe('a deleted dataset', () => {
  it('takes the predictions of its models with it, cache warm', async () => {
    await predictOver(server.gql, v1, 3, owner.token);
    await predictOver(server.gql, v1, 3, owner.token);
    const deleted = await server.gql(
      'mutation($d: ID!) { deleteDataset(id: $d) { __typename } }',
      { d: datasetId },
      owner.token,
    );
    expect(deleted.data?.deleteDataset.__typename, JSON.stringify(deleted)).toBe('Dataset');
    const res = await server.gql(PREDICT, { v: v1, rows: [{ x: 3 }] }, owner.token);
    const code = res.data?.predict?.code ?? res.errors?.[0]?.extensions?.code;
    expect(code, JSON.stringify(res)).toBe('NOT_FOUND');
    expect(JSON.stringify(res)).not.toMatch(/"value"/);
  });
});
