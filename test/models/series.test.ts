/**
 * TrainingRun.series: the downsampled history the dashboard draws. Tried as an attacker first
 * (another organization, a member who reads the target masked, a key no policy names), then for
 * what it returns: the whole history when it fits, min/max/last buckets when it does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { loadCustomers, SET_POLICY } from '../query/fixtures';

const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id } ... on Error { code message } } }`;
const RUN = `query($id: ID!, $max: Int) { trainingRun(id: $id) { status history
  series(max: $max) { name total points { step min max last } } } }`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let runId: string;
let history: Array<{ step: number; loss: number; valLoss: number | null }>;

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'series');
  const { datasetId } = await loadCustomers(server, owner.token);
  const trained = await server.gql(
    TRAIN,
    {
      input: {
        name: 'region',
        datasetId,
        target: 'region',
        features: ['id', 'spend'],
        algorithm: 'LOGISTIC_REGRESSION',
        hyperparameters: { epochs: 12 },
      },
    },
    owner.token,
  );
  expect(trained.data?.trainModel.__typename, JSON.stringify(trained)).toBe('TrainingRun');
  runId = trained.data!.trainModel.id;
  for (;;) {
    const run = (await server.gql(RUN, { id: runId }, owner.token)).data!.trainingRun;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) {
      expect(run.status).toBe('SUCCEEDED');
      history = run.history;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // A VIEWER reads the target masked; ANALYSTs read everything in clear.
  await server.gql(
    SET_POLICY,
    { input: { datasetId, role: 'VIEWER', columnRules: [{ column: 'region', rule: 'MASK' }] } },
    owner.token,
  );
}, 180_000);

afterAll(() => server?.close());

describe('TrainingRun.series', () => {
  it('is empty for whoever may not see the run’s metrics, and absent for another organization', async () => {
    const viewer = await inviteMember(server, owner.token, 'VIEWER');
    const masked = await server.gql(RUN, { id: runId }, viewer.token);
    expect(masked.errors, JSON.stringify(masked)).toBeUndefined();
    expect(masked.data!.trainingRun).toMatchObject({ history: [], series: [] });

    const stranger = await signUpOwner(server, 'series-other');
    const foreign = await server.gql(RUN, { id: runId }, stranger.token);
    expect(foreign.data?.trainingRun ?? null).toBeNull();

    const key = await createApiKey(server, owner.token, 'ANALYST');
    const unnamed = await server.gql(RUN, { id: runId }, key.secret);
    expect(unnamed.data?.trainingRun?.series ?? []).toEqual([]);

    const analyst = await inviteMember(server, owner.token, 'ANALYST');
    const clear = await server.gql(RUN, { id: runId }, analyst.token);
    expect(clear.data!.trainingRun.series.length).toBeGreaterThan(0);
  });

  it('returns every epoch when the history fits, and min, max and last of each bucket when not', async () => {
    expect(history.length).toBeGreaterThanOrEqual(12);
    const full = (await server.gql(RUN, { id: runId }, owner.token)).data!.trainingRun;
    const loss = full.series.find((s: { name: string }) => s.name === 'loss');
    expect(loss.total).toBe(history.length);
    expect(loss.points).toEqual(
      history.map((e) => ({ step: e.step, min: e.loss, max: e.loss, last: e.loss })),
    );
    const names = full.series.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['loss', 'accuracy']));
    // A series only for what the history holds: valLoss where some epoch had one.
    expect(names.includes('valLoss')).toBe(history.some((e) => typeof e.valLoss === 'number'));

    const three = (await server.gql(RUN, { id: runId, max: 3 }, owner.token)).data!.trainingRun;
    const coarse = three.series.find((s: { name: string }) => s.name === 'loss');
    expect(coarse.total).toBe(history.length);
    expect(coarse.points).toHaveLength(3);
    const n = history.length;
    coarse.points.forEach(
      (p: { step: number; min: number; max: number; last: number }, b: number) => {
        const bucket = history.slice(Math.floor((b * n) / 3), Math.floor(((b + 1) * n) / 3));
        const values = bucket.map((e) => e.loss);
        expect(p).toEqual({
          step: bucket.at(-1)!.step,
          min: Math.min(...values),
          max: Math.max(...values),
          last: values.at(-1),
        });
      },
    );
  });

  it('refuses a point count outside 1–1000 by name', async () => {
    for (const max of [0, 1001, -5]) {
      const res = await server.gql(RUN, { id: runId, max }, owner.token);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/max/);
    }
  });
});
