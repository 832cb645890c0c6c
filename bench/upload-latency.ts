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

const IDLE_REQUESTS = Number(process.env.BENCH_UPLOAD_REQUESTS ?? 300);
const ROWS = Number(process.env.BENCH_UPLOAD_ROWS ?? 1_000_000);

/**
 * The API's latency while a large upload loads versus idle, in the same run: sequential
 * `{ viewer { id role } }` requests with a member's token (one membership lookup in the
 * database each), `IDLE_REQUESTS` while idle, then as many as fit while a 1,000,000-row CSV is
 * PUT to a signed upload URL. On PGlite (the default) the API and the load share one connection.
 * Env: BENCH_UPLOAD_ROWS (1,000,000), BENCH_UPLOAD_REQUESTS (300), BENCH_DATABASE_URL.
 */
export async function benchUploadLatency(): Promise<void> {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const path = join(tmpdir(), `peso-bench-upload-${randomBytes(4).toString('hex')}.csv`);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    PESO_DEMO: 'off',
    PESO_WORKERS: '0',
    LOG_LEVEL: 'warn',
    PESO_RATE_LIMIT_PER_ADDRESS: '100000000',
    PESO_RATE_LIMIT_PER_USER: '100000000',
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
  const viewer = async () => {
    const start = performance.now();
    const res = await gql('{ viewer { id role } }');
    if (!res.data?.viewer) throw new Error(`viewer failed: ${JSON.stringify(res)}`);
    return performance.now() - start;
  };
  try {
    const signUp = await gql(
      `mutation { signUp(input: { email: "bench@example.com", password: "correct horse battery", name: "Bench", organizationName: "Bench" }) { ... on AuthPayload { token } } }`,
    );
    token = signUp.data!.signUp.token;
    const rows = await writeFlightsCsv(path, ROWS, { band: true });
    const created = await gql(
      'mutation { createDataset(input: { name: "flights" }) { ... on Dataset { id } } }',
    );
    const datasetId = created.data!.createDataset.id;
    const signed = await gql(
      'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "flights.csv") { ... on UploadUrl { url } } }',
      { d: datasetId },
    );

    for (let i = 0; i < 50; i++) await viewer();
    const idle: number[] = [];
    for (let i = 0; i < IDLE_REQUESTS; i++) idle.push(await viewer());

    const busy: number[] = [];
    let done = false;
    const uploadStart = performance.now();
    const upload = putFile(signed.data!.createUploadUrl.url, path).finally(() => {
      done = true;
    });
    while (!done) busy.push(await viewer());
    const put = await upload;
    const uploadMs = performance.now() - uploadStart;
    if (put.status !== 201 || put.body.version?.rowCount !== rows)
      throw new Error(`upload failed: ${JSON.stringify(put.body)}`);

    idle.sort((a, b) => a - b);
    busy.sort((a, b) => a - b);
    const fmt = (s: number[]) =>
      `p50 ${percentile(s, 50).toFixed(2)} ms, p99 ${percentile(s, 99).toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms (${s.length} requests)`;
    console.log(
      `upload latency (${database.kind}, ${rows.toLocaleString('en-US')}-row CSV through a signed URL in ${(uploadMs / 1000).toFixed(2)} s; sequential { viewer } requests)`,
    );
    console.log(`  idle:          ${fmt(idle)}`);
    console.log(`  during upload: ${fmt(busy)}`);
    console.log(
      `  ratio (p99 during / p99 idle): ${(percentile(busy, 99) / percentile(idle, 99)).toFixed(2)}`,
    );
  } finally {
    await platform.close();
    await database.close();
    await scratch.drop();
    rmSync(path, { force: true });
  }
}
