import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { startPlatform } from '../src/platform';
import { writeFlightsCsv } from './flights';
import { graphql, percentile, putFile } from './http';

const REQUESTS = Number(process.env.BENCH_TRAIN_REQUESTS ?? 400);

/**
 * The API's latency while a training run is active versus idle, in the same run: `REQUESTS`
 * sequential `{ viewer { id } }` requests each way. Training runs in a child process of the
 * platform's pool (PESO_WORKERS=1), as under `npm start`, on 200,000 flights rows (MLP).
 */
export async function benchTrainLatency(): Promise<void> {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const path = join(tmpdir(), `peso-bench-train-${randomBytes(4).toString('hex')}.csv`);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    PESO_DEMO: 'off',
    PESO_WORKERS: '1',
    LOG_LEVEL: 'warn',
  });
  const database = await openDatabase(config.database);
  const platform = await startPlatform({
    config,
    database,
    log: createLogger('warn'),
    port: 0,
    host: '127.0.0.1',
  });
  const url = `${platform.server.url}/graphql`;
  let token = '';
  const gql = (query: string, variables: object = {}) =>
    graphql(url, token || null, query, variables);
  const timed = async (n: number) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      const res = await gql('{ viewer { id role } }');
      samples.push(performance.now() - start);
      if (!res.data?.viewer) throw new Error(`viewer failed: ${JSON.stringify(res)}`);
    }
    return samples.sort((a, b) => a - b);
  };
  try {
    const signUp = await gql(
      `mutation { signUp(input: { email: "bench@example.com", password: "correct horse battery", name: "Bench", organizationName: "Bench" }) { ... on AuthPayload { token } } }`,
    );
    token = signUp.data!.signUp.token;
    const rows = await writeFlightsCsv(path, 200_000, { band: true });
    const created = await gql(
      'mutation { createDataset(input: { name: "flights" }) { ... on Dataset { id } } }',
    );
    const datasetId = created.data!.createDataset.id;
    const signed = await gql(
      'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "flights.csv") { ... on UploadUrl { url } } }',
      { d: datasetId },
    );
    const put = await putFile(signed.data!.createUploadUrl.url, path);
    if (put.status !== 201) throw new Error(`upload failed: ${JSON.stringify(put.body)}`);

    await timed(50);
    const idle = await timed(REQUESTS);

    const train = await gql(
      `mutation($d: ID!) { trainModel(input: { name: "band", datasetId: $d, target: "band", features: ["delay", "time"], algorithm: MLP, seed: 1, hyperparameters: { epochs: 50 } }) {
        __typename ... on TrainingRun { id } ... on Error { message } } }`,
      { d: datasetId },
    );
    const runId = train.data!.trainModel.id;
    const status = async () =>
      (
        await gql('query($id: ID!) { trainingRun(id: $id) { status epochsDone backend } }', {
          id: runId,
        })
      ).data!.trainingRun;
    for (let s = await status(); s.status !== 'RUNNING' || s.epochsDone < 1; s = await status()) {
      if (['FAILED', 'SUCCEEDED', 'CANCELLED'].includes(s.status))
        throw new Error(`run ended early: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const busy = await timed(REQUESTS);
    const during = await status();
    if (during.status !== 'RUNNING') throw new Error('training ended before the busy sample did');
    await gql('mutation($id: ID!) { cancelTrainingRun(id: $id) { __typename } }', { id: runId });

    const fmt = (s: number[]) =>
      `p50 ${percentile(s, 50).toFixed(2)} ms, p99 ${percentile(s, 99).toFixed(2)} ms`;
    console.log(
      `train latency (${database.kind}, ${rows.toLocaleString('en-US')} rows, MLP on ${during.backend} in a child process; ${REQUESTS} sequential { viewer } requests each)`,
    );
    console.log(`  idle:                  ${fmt(idle)}`);
    console.log(
      `  during training:       ${fmt(busy)} (epochs done by the end: ${during.epochsDone})`,
    );
    console.log(
      `  ratio (p99 training / p99 idle): ${(percentile(busy, 99) / percentile(idle, 99)).toFixed(2)}`,
    );
  } finally {
    await platform.close();
    await database.close();
    await scratch.drop();
    rmSync(path, { force: true });
  }
}
