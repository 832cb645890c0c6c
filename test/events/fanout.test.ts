/**
 * Live fan-out of one run's training events to many subscribers: an event is checked and
 * executed once per viewer rather than once per subscriber, every subscriber of one viewer gets
 * the same bytes, each change travels between processes as one message for both of its channels,
 * and a subscriber that stops reading is dropped (1013) while the others get every event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { query } from '../../db/client';
import { publishRun } from '../../src/models/registry';
import {
  createApiKey,
  signUpOwner,
  startTestServer,
  type TestServer,
  usingPostgres,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
/** The run subscribed to: its global id, and its row's ids for publishing. */
let runGlobalId: string;
let datasetId: string;
let run: { id: string; modelId: string; orgId: string };

const TRAIN = `mutation($input: TrainModelInput!) { trainModel(input: $input) {
  __typename ... on TrainingRun { id } ... on Error { code message } } }`;
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { kind status step loss metrics } }`;

/** A graphql-transport-ws client on a raw socket, keeping each message exactly as received. */
async function rawSubscriber(credential: string) {
  const socket = new WebSocket(server.graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const frames: string[] = [];
  let closed: { code: number; reason: string } | null = null;
  socket.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const acked = new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const text = String(data);
      const message = JSON.parse(text) as { type: string };
      if (message.type === 'connection_ack') resolve();
      else if (message.type === 'next') frames.push(text);
    });
  });
  socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${credential}` } }),
  );
  await acked;
  socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: { query: PROGRESS, variables: { id: runGlobalId } },
    }),
  );
  return {
    socket,
    frames,
    closed: () => closed as { code: number; reason: string } | null,
  };
}

async function until(check: () => boolean, what: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function epoch(step: number, metrics: Record<string, number> = { accuracy: 0.5 }) {
  publishRun(
    server.platform.events,
    {
      ...run,
      status: 'RUNNING',
      error: null,
      totalEpochs: 10,
      step,
      totalSteps: 100_000,
      phase: 'mlp',
    },
    {
      epoch: step,
      totalEpochs: 10,
      step,
      totalSteps: 100_000,
      candidate: 'mlp',
      loss: 1 / (step + 1),
      valLoss: null,
      metrics,
      samplesPerSecond: null,
      etaSeconds: null,
    } as never,
  );
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WS_MAX_BUFFERED_BYTES: '1024' });
  owner = await signUpOwner(server, 'fanout');
  const created = await server.gql(
    `mutation { createDataset(input: { name: "fan" }) { ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  datasetId = created.data!.createDataset.id as string;
  const csv = `x,y\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
  const up = await server.upload(
    `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
      __typename ... on DatasetVersion { id } ... on Error { code message } } }`,
    { datasetId },
    { name: 'fan.csv', content: csv },
    owner.token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  // No workers: the run stays queued, and the test publishes its events itself.
  const trained = await server.gql(
    TRAIN,
    { input: { datasetId, name: 'fan', target: 'y', features: ['x'] } },
    owner.token,
  );
  expect(trained.data?.trainModel.__typename, JSON.stringify(trained)).toBe('TrainingRun');
  runGlobalId = trained.data!.trainModel.id as string;
  const [row] = await query<{ id: string; model_id: string; org_id: string }>(
    server.database,
    'select id::text, model_id::text, org_id::text from training_runs',
  );
  run = { id: row!.id, modelId: row!.model_id, orgId: row!.org_id };
}, 120_000);
afterAll(() => server?.close());

describe('fan-out of one run to many subscribers', () => {
  it('checks and executes an event once per viewer: every subscriber of a key gets the same bytes', async () => {
    const key = await createApiKey(server, owner.token, 'ANALYST');
    const policy = await server.gql(
      `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
        __typename ... on Error { code message } } }`,
      { input: { datasetId, apiKeyId: key.id } },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    const subscribers = await Promise.all(
      Array.from({ length: 30 }, () => rawSubscriber(key.secret)),
    );
    const ownerSubscriber = await rawSubscriber(owner.token);
    const everyone = [...subscribers, ownerSubscriber];
    // The current state first, read per subscriber.
    await until(() => everyone.every((s) => s.frames.length === 1), 'the current state');

    const before = server.database.stats.statements;
    epoch(7);
    await until(() => everyone.every((s) => s.frames.length === 2), 'the epoch event');
    const statements = server.database.stats.statements - before;

    const frame = subscribers[0]!.frames[1]!;
    expect(JSON.parse(frame)).toEqual({
      id: '1',
      type: 'next',
      payload: {
        data: {
          trainingProgress: {
            kind: 'EPOCH',
            status: 'RUNNING',
            step: 7,
            loss: 1 / 8,
            metrics: { accuracy: 0.5 },
          },
        },
      },
    });
    for (const s of subscribers) expect(s.frames[1]).toBe(frame);
    expect(JSON.parse(ownerSubscriber.frames[1]!).payload).toEqual(JSON.parse(frame).payload);
    // 31 subscribers, two viewers: the credential check of both is one statement, and each
    // viewer's access and outputs checks run once — not once per subscriber (31 or more).
    expect(statements).toBeLessThan(subscribers.length);
    for (const s of everyone) s.socket.close();
  });

  it('drops a subscriber that stops reading (1013) while another gets every event', async () => {
    const fast = await rawSubscriber(owner.token);
    const slow = await rawSubscriber(owner.token);
    await until(() => fast.frames.length === 1 && slow.frames.length === 1, 'the current state');
    // The slow client stops reading: what the server sends piles up in the kernel, then in its
    // send buffer, past the 1 KiB this server allows.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const metrics = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`m${i}`, i / 7]));
    const events = 400;
    for (let i = 0; i < events; i++) {
      epoch(100 + i, metrics);
      if (i % 10 === 9) await until(() => fast.frames.length >= i + 2, `event ${i}`);
    }
    await until(() => fast.frames.length === events + 1, 'every event on the fast socket');
    expect(
      fast.frames.slice(1).map((f) => JSON.parse(f).payload.data.trainingProgress.step),
    ).toEqual(Array.from({ length: events }, (_, i) => 100 + i));
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => slow.closed() !== null, 'the slow socket to close');
    expect(slow.closed()).toEqual({
      code: 1013,
      reason: 'Slow consumer: too many messages waiting to be sent',
    });
    expect(slow.frames.length).toBeLessThan(events + 1);
    expect(fast.closed()).toBeNull();
    fast.socket.close();
  });

  it.skipIf(!usingPostgres)(
    "sends a change once between processes for both of its channels (the run's and the model's)",
    async () => {
      if (server.database.kind !== 'postgres') return;
      const heard: string[] = [];
      const listener = await server.database.sql.listen('peso_events', (payload) => {
        heard.push(payload);
      });
      try {
        epoch(42);
        await until(() => heard.some((p) => p.includes('"step":42')), 'the NOTIFY');
        await new Promise((r) => setTimeout(r, 300));
        const mine = heard.map((p) => JSON.parse(p)).filter((m) => m.detail?.step === 42);
        expect(mine).toHaveLength(1);
        expect(mine[0].topics).toEqual([
          `trainingProgress:${run.id}`,
          `trainingRuns:${run.modelId}`,
        ]);
      } finally {
        await listener.unlisten();
      }
    },
  );
});
