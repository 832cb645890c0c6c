import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphql, percentile } from './http';
import { benchPlatform } from './setup';

const CLIENTS = fileURLToPath(new URL('./fanout-clients.ts', import.meta.url));
const CONCURRENCY = Number(process.env.BENCH_LOAD_CONCURRENCY ?? 16);
const SUBSCRIBERS = Number(process.env.BENCH_LOAD_SUBSCRIBERS ?? 1000);
const QUIET_S = Number(process.env.BENCH_LOAD_QUIET_SECONDS ?? 15);
const LIVE_S = Number(process.env.BENCH_LOAD_SECONDS ?? 60);

const READ =
  '{ datasets(first: 10) { edges { node { id name currentVersion { rowCount columns { name type } } } } } }';
const AGGREGATE = `query($id: ID!) { datasetQuery(datasetId: $id, input: {
  groupBy: [{ column: "Origin" }],
  aggregates: [{ function: COUNT }, { function: AVG, column: "Horsepower" }, { function: MAX, column: "Weight_in_lbs" }] }) {
  __typename ... on QueryResult { rows } ... on Error { code message } } }`;
const PREDICT = `query($m: ID!) { predict(modelId: $m, alias: "production", rows: [{ Horsepower: 130, Weight_in_lbs: 3504 }]) {
  __typename ... on PredictionResult { predictions { value } } ... on Error { code message } } }`;
const TRAIN = `mutation($i: TrainModelInput!) { trainModel(input: $i) {
  __typename ... on TrainingRun { id model { id } } ... on Error { code message } } }`;

type Op = 'read' | 'aggregate' | 'predict';
interface Stats {
  samples: Record<Op, number[]>;
  errors: number;
  requests: number;
  ms: number;
}

function stats(): Stats {
  return { samples: { read: [], aggregate: [], predict: [] }, errors: 0, requests: 0, ms: 0 };
}

/** `CONCURRENCY` keep-alive connections, each cycling read → aggregate → predict, for `seconds`. */
async function drive(url: string, token: string, ops: Record<Op, string>, seconds: number) {
  const s = stats();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const one = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const order: Op[] = ['read', 'aggregate', 'predict'];
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      for (let i = c; performance.now() < end; i++) {
        const op = order[i % order.length]!;
        const t = performance.now();
        const res = await one(ops[op]).catch(() => ({ status: 0, text: '' }));
        s.samples[op].push(performance.now() - t);
        s.requests++;
        // An error is any non-200 answer, any GraphQL error, or a typed error result.
        if (res.status !== 200 || res.text.includes('"errors"') || res.text.includes('"code"'))
          s.errors++;
      }
    }),
  );
  s.ms = performance.now() - started;
  agent.destroy();
  return s;
}

function summary(label: string, s: Stats) {
  const all = Object.values(s.samples)
    .flat()
    .sort((a, b) => a - b);
  const per = (Object.keys(s.samples) as Op[])
    .map((op) => {
      const xs = [...s.samples[op]].sort((a, b) => a - b);
      return `${op} p50 ${percentile(xs, 50).toFixed(1)} / p99 ${percentile(xs, 99).toFixed(1)} ms`;
    })
    .join('; ');
  console.log(
    `load: ${label}: ${((s.requests / s.ms) * 1000).toFixed(0)} req/s, p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms, errors ${s.errors} of ${s.requests} (${per})`,
  );
  return { rate: (s.requests / s.ms) * 1000, p99: percentile(all, 99) };
}

function clientsProcess() {
  const child: ChildProcess = fork(CLIENTS, [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const next = (type: string) =>
    new Promise<any>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
  let events = 0;
  child.on('message', (m: { type: string }) => {
    if (m.type === 'event') events++;
  });
  return { child, next, events: () => events };
}

/**
 * Mixed traffic at fixed concurrency — the `{ datasets }` read, a grouped aggregate and a one-row
 * `predict`, in turn on every connection — first alone (the baseline), then for a minute with
 * `SUBSCRIBERS` graphql-ws subscribers (another process) following a live training run's
 * progress. Reports throughput, p50/p99 per operation, errors (which must be 0), the events that
 * reached every subscriber, and the process's RSS over the live minute.
 * Env: BENCH_LOAD_CONCURRENCY (16), BENCH_LOAD_SUBSCRIBERS (1000), BENCH_LOAD_QUIET_SECONDS (15),
 * BENCH_LOAD_SECONDS (60), BENCH_DATABASE_URL.
 */
export async function benchLoad(): Promise<void> {
  const bench = await benchPlatform(1);
  const { endpoint } = bench;
  const clients = clientsProcess();
  try {
    const { token } = bench;
    // Two real datasets from vega-datasets, uploaded as a user would.
    const data = join(createRequire(import.meta.url).resolve('vega-datasets'), '../../data');
    const upload = async (name: string, file: string) => {
      const created = await graphql(
        endpoint,
        token,
        'mutation($i: CreateDatasetInput!) { createDataset(input: $i) { ... on Dataset { id } } }',
        { i: { name } },
      );
      const id = created.data!.createDataset.id as string;
      const form = new FormData();
      form.set(
        'operations',
        JSON.stringify({
          query:
            'mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) { __typename ... on Error { message } } }',
          variables: { d: id, file: null },
        }),
      );
      form.set('map', JSON.stringify({ 0: ['variables.file'] }));
      form.set('0', new Blob([readFileSync(join(data, file))]), file);
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'x-graphql-yoga-csrf': '1', authorization: `Bearer ${token}` },
        body: form,
      });
      const text = await res.text();
      if (!text.includes('"DatasetVersion"')) throw new Error(`upload ${file}: ${text}`);
      return id;
    };
    const cars = await upload('cars', 'cars.json');
    const flights = await upload('flights-200k', 'flights-200k.json');
    const train = async (input: Record<string, unknown>) => {
      const res = await graphql(endpoint, token, TRAIN, { i: input });
      if (res.data?.trainModel?.__typename !== 'TrainingRun')
        throw new Error(`train: ${JSON.stringify(res)}`);
      return res.data.trainModel as { id: string; model: { id: string } };
    };
    // The model predictions use, served as `production`.
    const small = await train({
      datasetId: cars,
      name: 'load-origin',
      target: 'Origin',
      features: ['Horsepower', 'Weight_in_lbs'],
      algorithm: 'LOGISTIC_REGRESSION',
      hyperparameters: { epochs: 5 },
      seed: 1,
    });
    let versionId = '';
    for (;;) {
      const run = await graphql(
        endpoint,
        token,
        'query($id: ID!) { trainingRun(id: $id) { status error modelVersion { id } } }',
        { id: small.id },
      );
      const r = run.data!.trainingRun;
      if (r.status === 'SUCCEEDED') {
        versionId = r.modelVersion.id;
        break;
      }
      if (r.status === 'FAILED') throw new Error(`training failed: ${r.error}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    await graphql(
      endpoint,
      token,
      'mutation($m: ID!, $v: ID!) { setModelAlias(modelId: $m, versionId: $v, alias: "production") { __typename } }',
      { m: small.model.id, v: versionId },
    );
    const ops: Record<Op, string> = {
      read: JSON.stringify({ query: READ }),
      aggregate: JSON.stringify({ query: AGGREGATE, variables: { id: cars } }),
      predict: JSON.stringify({ query: PREDICT, variables: { m: small.model.id } }),
    };
    for (const op of Object.values(ops)) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: op,
      });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"') || text.includes('"code"'))
        throw new Error(`operation fails before the load: ${text.slice(0, 500)}`);
    }

    await drive(endpoint, token, ops, 3); // warm-up
    const quiet = summary(
      `${CONCURRENCY} connections, no subscribers`,
      await drive(endpoint, token, ops, QUIET_S),
    );

    // A long run over 200,000 flights: about one progress event per epoch.
    const live = await train({
      datasetId: flights,
      name: 'load-delay',
      target: 'delay',
      features: ['distance', 'time'],
      algorithm: 'MLP',
      hyperparameters: { epochs: 10_000 },
      seed: 2,
    });
    clients.child.send({
      type: 'open',
      url: endpoint.replace(/^http/, 'ws'),
      count: SUBSCRIBERS,
      mode: 'graphql',
      token,
      query: 'subscription($id: ID!) { trainingProgress(runId: $id) { kind step loss } }',
      variables: { id: live.id },
    });
    await clients.next('ready');
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1000);
    const before = clients.events();
    const loaded = summary(
      `${CONCURRENCY} connections + ${SUBSCRIBERS} subscribers`,
      await drive(endpoint, token, ops, LIVE_S),
    );
    clearInterval(sampler);
    const delivered = clients.events() - before;
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(
      `load: ${delivered} progress events reached all ${SUBSCRIBERS} subscribers in ${LIVE_S} s; RSS ${mb(rss[0]!)} MiB at start, ${mb(Math.max(...rss))} max, ${mb(rss.at(-1)!)} at end (drift ${mb(rss.at(-1)! - rss[0]!)} MiB)`,
    );
    console.log(
      `load: with subscribers / without: throughput ${(loaded.rate / quiet.rate).toFixed(2)}, p99 ${(loaded.p99 / quiet.p99).toFixed(2)}`,
    );
    await graphql(
      endpoint,
      token,
      'mutation($id: ID!) { cancelTrainingRun(id: $id) { __typename } }',
      {
        id: live.id,
      },
    );
  } finally {
    clients.child.send({ type: 'close' });
    await bench.close();
  }
}
