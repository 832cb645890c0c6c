import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { modelVersions } from '../db/schema/models';
import { predictRows } from '../src/models/cache';
import { graphql, percentile } from './http';
import { benchPlatform } from './setup';

const CONNECTIONS = Number(process.env.BENCH_PREDICT_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_PREDICT_SECONDS ?? 10);
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/**
 * On PostgreSQL, an API process of its own on the same database (as `npm start` runs it, no
 * workers), so the server does not share this process with the load it answers; its URL.
 */
async function serverProcess(url: string, secret: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      PESO_SECRET: secret,
      PESO_DEMO: 'off',
      PESO_WORKERS: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PESO_RATE_LIMIT_PER_KEY: '100000000',
      PESO_RATE_LIMIT_PER_ADDRESS: '100000000',
      // BENCH_PREDICT_PROFILE=dir: a CPU profile of the API process, written there on exit.
      ...(process.env.BENCH_PREDICT_PROFILE
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PREDICT_PROFILE}` }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`API process exited (${code}):\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /GraphiQL at (\S+\/graphql)/.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** 2,000 rows: a class from two numeric features and a category (an MLP learns it). */
function csv(): string {
  const lines = ['a,b,color,label'];
  for (let i = 0; i < 2000; i++) {
    const a = (i * 37) % 101;
    const b = (i * 53) % 89;
    const color = ['red', 'green', 'blue'][i % 3];
    lines.push(`${a},${b},${color},${a + b > 95 ? 'high' : 'low'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `call` from `workers` concurrent loops for `seconds`; calls per second and latencies. */
async function load(workers: number, seconds: number, call: (i: number) => Promise<unknown>) {
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call(n++);
        samples.push(performance.now() - t);
      }
    }),
  );
  const wall = performance.now() - started;
  samples.sort((a, b) => a - b);
  return {
    perSecond: (samples.length / wall) * 1000,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
  };
}

/**
 * `predict` of one row over GraphQL (API key, keep-alive HTTP, `CONNECTIONS` connections)
 * against the same ready model called in this process: one call at a time (the model's own
 * speed), and `CONNECTIONS` at a time (what micro-batching gives a caller that needs no HTTP).
 * Each answer is checked against the in-process one.
 */
export async function benchPredict(): Promise<void> {
  const bench = await benchPlatform(1);
  const { endpoint, token, database, config, apiKey } = bench;
  const created = await graphql(
    endpoint,
    token,
    'mutation { createDataset(input: { name: "predict-bench" }) { ... on Dataset { id } } }',
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
  form.set('0', new Blob([csv()]), 'bench.csv');
  await fetch(endpoint, {
    method: 'POST',
    headers: { 'x-graphql-yoga-csrf': '1', authorization: `Bearer ${token}` },
    body: form,
  });
  // The demo API key reads the dataset through a policy naming it.
  await graphql(
    endpoint,
    token,
    `mutation($i: DatasetPolicyInput!) { setDatasetPolicy(input: $i) { __typename } }`,
    { i: { datasetId, apiKeyId: await keyGlobalId(endpoint, token) } },
  );
  const trained = await graphql(
    endpoint,
    token,
    `mutation($i: TrainModelInput!) { trainModel(input: $i) { ... on TrainingRun { id } ... on Error { message } } }`,
    {
      i: {
        datasetId,
        name: 'bench',
        target: 'label',
        features: ['a', 'b', 'color'],
        algorithm: 'MLP',
        seed: 1,
        hyperparameters: { epochs: 5 },
      },
    },
  );
  const runId = trained.data!.trainModel.id as string;
  let versionId = '';
  for (;;) {
    const run = await graphql(
      endpoint,
      token,
      'query($id: ID!) { trainingRun(id: $id) { status error modelVersion { id } } }',
      { id: runId },
    );
    const r = run.data!.trainingRun;
    if (r.status === 'SUCCEEDED') {
      versionId = r.modelVersion.id;
      break;
    }
    if (r.status === 'FAILED') throw new Error(r.error);
    await new Promise((res) => setTimeout(res, 250));
  }
  const rawVersionId = Buffer.from(versionId, 'base64').toString().split(':').pop()!;
  const [version] = await database.db
    .select()
    .from(modelVersions)
    .where(eq(modelVersions.id, rawVersionId));

  const rows = Array.from({ length: 64 }, (_, i) => ({
    a: (i * 7) % 101,
    b: (i * 11) % 89,
    color: ['red', 'green', 'blue'][i % 3],
  }));
  const expected = await Promise.all(
    rows.map(async (row) => (await predictRows(config.tfBackend, version!, [row]))[0]!.value),
  );

  // PostgreSQL: the GraphQL side is a separate API process (BENCH_PREDICT_SAME_PROCESS=1 keeps it
  // in this one); PGlite is one process's database, so its server stays here.
  const own =
    config.database.kind === 'postgres' && process.env.BENCH_PREDICT_SAME_PROCESS !== '1'
      ? await serverProcess(config.database.url, config.secret)
      : null;
  const target = own?.endpoint ?? endpoint;
  console.log(`predict: GraphQL server ${own ? 'in its own process' : 'in the bench process'}`);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const query =
    'query($v: ID!, $rows: [JSON!]!) { predict(versionId: $v, rows: $rows) { ... on PredictionResult { predictions { value } } ... on Error { code message } } }';
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const row = i % rows.length;
      const body = JSON.stringify({ query, variables: { v: versionId, rows: [rows[row]] } });
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${apiKey}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const answer = JSON.parse(Buffer.concat(chunks).toString());
            const value = answer.data?.predict?.predictions?.[0]?.value;
            if (value !== expected[row])
              reject(new Error(`unexpected answer: ${JSON.stringify(answer)}`));
            else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const inProcess = (i: number) =>
    predictRows(config.tfBackend, version!, [rows[i % rows.length]!]);
  // Warm both paths (the server for 3 s: its first seconds are compiling), then alternate twice.
  await load(CONNECTIONS, 3, post);
  if (!own) {
    const statements = database.stats.statements;
    for (let i = 0; i < 50; i++) await post(i);
    console.log(
      `statements per GraphQL predict: ${((database.stats.statements - statements) / 50).toFixed(1)}`,
    );
  }
  await load(1, 1, inProcess);
  const results: string[] = [];
  for (let round = 1; round <= 2; round++) {
    const gql = await load(CONNECTIONS, SECONDS, post);
    const one = await load(1, SECONDS, inProcess);
    const many = await load(CONNECTIONS, SECONDS, inProcess);
    results.push(
      `predict round ${round} (${database.kind}): GraphQL ${gql.perSecond.toFixed(0)}/s ` +
        `(p50 ${gql.p50.toFixed(2)} ms, p99 ${gql.p99.toFixed(2)} ms, ${CONNECTIONS} connections) | ` +
        `in process, one at a time ${one.perSecond.toFixed(0)}/s, ${CONNECTIONS} at a time ` +
        `${many.perSecond.toFixed(0)}/s | ratio ${(gql.perSecond / one.perSecond).toFixed(3)} ` +
        `(vs ${CONNECTIONS} at a time ${(gql.perSecond / many.perSecond).toFixed(3)})`,
    );
    console.log(results.at(-1));
  }
  agent.destroy();
  await own?.stop();
  await bench.close();
}

async function keyGlobalId(endpoint: string, token: string): Promise<string> {
  const keys = await graphql(endpoint, token, '{ apiKeys(first: 1) { edges { node { id } } } }');
  return keys.data!.apiKeys.edges[0].node.id as string;
}
