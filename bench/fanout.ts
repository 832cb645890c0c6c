import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { openDatabase, query } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { loadConfig } from '../src/config';
import { seedDemoOrganization } from '../src/demo/seed';
import { createEventBus } from '../src/events/bus';
import { createLogger } from '../src/log';
import { publishRun } from '../src/models/registry';
import { startServer } from '../src/server';
import { graphql, percentile } from './http';

const CLIENTS = fileURLToPath(new URL('./fanout-clients.ts', import.meta.url));
const SIZES = (process.env.BENCH_FANOUT_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
const EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 40);
const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { kind status step loss metrics } }`;

/** The message a subscriber gets for epoch `step`, byte for byte (checked against Peso's). */
function frame(step: number): string {
  return JSON.stringify({
    id: '1',
    type: 'next',
    payload: {
      data: {
        trainingProgress: {
          kind: 'EPOCH',
          status: 'RUNNING',
          step,
          loss: 1 / (step + 1),
          metrics: { accuracy: 0.5, f1: 0.25 },
        },
      },
    },
  });
}

interface Clients {
  child: ChildProcess;
  next<T>(type: string): Promise<T>;
}

function startClients(): Clients {
  const child = fork(CLIENTS, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const waiting = new Map<string, Array<(m: unknown) => void>>();
  const queued = new Map<string, unknown[]>();
  child.on('message', (m: { type: string }) => {
    const w = waiting.get(m.type)?.shift();
    if (w) w(m);
    else queued.set(m.type, [...(queued.get(m.type) ?? []), m]);
  });
  return {
    child,
    next<T>(type: string) {
      const q = queued.get(type);
      if (q?.length) return Promise.resolve(q.shift() as T);
      return new Promise<T>((resolve) =>
        waiting.set(type, [...(waiting.get(type) ?? []), resolve as (m: unknown) => void]),
      );
    },
  };
}

/** Publishes `EVENTS` epochs one after another (each once all copies arrived); spreads in ms. */
async function measure(clients: Clients, publish: (step: number) => void) {
  const spreads: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let step = 1; step <= EVENTS; step++) {
    publish(step);
    const { spread } = await clients.next<{ spread: number }>('event');
    spreads.push(spread);
    await new Promise((r) => setTimeout(r, 20));
  }
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - started;
  spreads.sort((a, b) => a - b);
  return {
    p50: percentile(spreads, 50),
    p99: percentile(spreads, 99),
    cpu: (used.user + used.system) / 1000 / wall,
  };
}

/**
 * N graphql-ws subscribers (one credential) of one run's `trainingProgress`, against a raw `ws`
 * server broadcasting the same bytes to N plain sockets: the spread between the first and the
 * last copy of each event, measured in a separate client process. Peso's events are published on
 * its bus as the training job does (`publishRun`).
 */
export async function benchFanout(): Promise<void> {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    PESO_RATE_LIMIT_PER_KEY: '1000000',
    PESO_RATE_LIMIT_PER_ADDRESS: '1000000',
    PESO_RATE_LIMIT_PER_USER: '1000000',
  });
  const database = await openDatabase(config.database);
  const demo = (await seedDemoOrganization(database.db))!;
  const events = createEventBus(database, undefined, createLogger('silent'));
  const server = await startServer({
    config,
    database,
    events,
    log: createLogger('silent'),
    port: 0,
    host: '127.0.0.1',
  });
  const endpoint = `${server.url}/graphql`;
  const login = await graphql(
    endpoint,
    null,
    'mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload { token } } }',
    { i: { email: demo.email, password: demo.password } },
  );
  const token = login.data!.login.token as string;
  const created = await graphql(
    endpoint,
    token,
    'mutation { createDataset(input: { name: "fan" }) { ... on Dataset { id } } }',
  );
  const datasetId = created.data!.createDataset.id as string;
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: `mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) { __typename } }`,
      variables: { d: datasetId, file: null },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  const csv = `x,y\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
  form.set('0', new Blob([csv]), 'fan.csv');
  await fetch(endpoint, {
    method: 'POST',
    headers: { 'x-graphql-yoga-csrf': '1', authorization: `Bearer ${token}` },
    body: form,
  });
  // No worker runs here: the run stays queued and the bench publishes its epochs.
  const trained = await graphql(
    endpoint,
    token,
    `mutation($i: TrainModelInput!) { trainModel(input: $i) { ... on TrainingRun { id } ... on Error { message } } }`,
    { i: { datasetId, name: 'fan', target: 'y', features: ['x'] } },
  );
  const runGlobalId = trained.data!.trainModel.id as string;
  const [run] = await query<{ id: string; model_id: string; org_id: string }>(
    database,
    'select id::text, model_id::text, org_id::text from training_runs',
  );
  const publish = (step: number) =>
    publishRun(
      events,
      {
        id: run!.id,
        modelId: run!.model_id,
        orgId: run!.org_id,
        status: 'RUNNING',
        error: null,
        totalEpochs: 10_000,
        step,
        totalSteps: 10_000,
        phase: 'mlp',
      },
      {
        epoch: step,
        totalEpochs: 10_000,
        step,
        totalSteps: 10_000,
        candidate: 'mlp',
        loss: 1 / (step + 1),
        valLoss: null,
        metrics: { accuracy: 0.5, f1: 0.25 },
        samplesPerSecond: null,
        etaSeconds: null,
      } as never,
    );

  const raw = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => raw.once('listening', r));
  const rawUrl = `ws://127.0.0.1:${(raw.address() as { port: number }).port}`;
  const broadcast = (step: number) => {
    const bytes = Buffer.from(frame(step));
    for (const socket of raw.clients) socket.send(bytes, { binary: false });
  };

  const rows: string[] = [];
  for (const n of SIZES) {
    const peso = startClients();
    peso.child.send({
      type: 'open',
      url: endpoint.replace(/^http/, 'ws'),
      count: n,
      mode: 'graphql',
      token,
      query: PROGRESS,
      variables: { id: runGlobalId },
    });
    await peso.next('ready');
    const pesoResult = await measure(peso, publish);
    peso.child.send({ type: 'sample' });
    const { frames } = await peso.next<{ frames: Record<string, string> }>('sample');
    for (const [step, text] of Object.entries(frames))
      if (text !== frame(Number(step)))
        throw new Error(
          `Peso sent other bytes than the raw broadcast:\n${text}\n${frame(Number(step))}`,
        );
    peso.child.send({ type: 'close' });
    await new Promise((r) => peso.child.once('exit', r));
    // Let the server notice the closed sockets before the baseline runs.
    await new Promise((r) => setTimeout(r, 2_000));

    const baseline = startClients();
    baseline.child.send({ type: 'open', url: rawUrl, count: n, mode: 'raw' });
    await baseline.next('ready');
    const rawResult = await measure(baseline, broadcast);
    baseline.child.send({ type: 'close' });
    await new Promise((r) => baseline.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1_000));

    const line =
      `fanout ${n} subscribers (${database.kind}): Peso spread p50 ${pesoResult.p50.toFixed(1)} ms, ` +
      `p99 ${pesoResult.p99.toFixed(1)} ms, server CPU ${(pesoResult.cpu * 100).toFixed(0)}% | ` +
      `raw ws p50 ${rawResult.p50.toFixed(1)} ms, p99 ${rawResult.p99.toFixed(1)} ms, ` +
      `CPU ${(rawResult.cpu * 100).toFixed(0)}% | p99 ratio ${(pesoResult.p99 / rawResult.p99).toFixed(2)}×`;
    console.log(line);
    rows.push(line);
  }
  raw.close();
  await server.close();
  await events.close();
  await database.close();
  await scratch.drop();
}
