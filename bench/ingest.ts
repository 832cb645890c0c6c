import { randomBytes } from 'node:crypto';
import { createReadStream, openAsBlob, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Database, openDatabase } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { seedDemoOrganization } from '../db/seed';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { writeFlightsCsv } from './flights';

const MIN_ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 1_000_000);

const CREATE = /* GraphQL */ `
  mutation($input: CreateDatasetInput!) {
    createDataset(input: $input) { __typename ... on Dataset { id } ... on Error { code message } }
  }
`;
const UPLOAD = /* GraphQL */ `
  mutation($datasetId: ID!, $file: File!) {
    uploadDatasetVersion(datasetId: $datasetId, file: $file) {
      __typename
      ... on DatasetVersion { id rowCount byteSize columns { name type } }
      ... on Error { code message }
    }
  }
`;

/** Runs `fn` while sampling the process RSS every 50 ms; returns elapsed ms and the peak. */
async function measure<T>(fn: () => Promise<T>) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const start = performance.now();
  try {
    const result = await fn();
    const ms = performance.now() - start;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms, peak };
  } finally {
    clearInterval(timer);
  }
}

/** Column `n` of the first row of `query`. */
async function countRows(database: Database, query: string): Promise<unknown> {
  if (database.kind === 'postgres') return (await database.sql.unsafe(query))[0]?.n;
  return (await database.pglite.query<{ n: unknown }>(query)).rows[0]?.n;
}

async function copyBaseline(database: Database, path: string): Promise<number> {
  const create = 'create table bench_copy (delay bigint, distance bigint, time double precision)';
  if (database.kind === 'postgres') {
    const { sql } = database;
    await sql.unsafe(create);
    const writable =
      await sql`copy bench_copy from stdin with (format csv, header true)`.writable();
    await pipeline(createReadStream(path), writable);
    const [row] = await sql`select count(*)::int as n from bench_copy`;
    return Number(row!.n);
  }
  const { pglite } = database;
  await pglite.exec(create);
  const blob = await openAsBlob(path);
  await pglite.query("copy bench_copy from '/dev/blob' with (format csv, header true)", [], {
    blob,
  });
  const { rows } = await pglite.query<{ n: number }>('select count(*)::int as n from bench_copy');
  return Number(rows[0]!.n);
}

/**
 * A ≥1M-row CSV uploaded through `uploadDatasetVersion` (GraphQL multipart over HTTP, parsed,
 * typed, PII-scanned and COPYed by Peso) against a plain COPY of the same file into a hand-made
 * table in the same database.
 */
export async function benchIngest(): Promise<void> {
  const path = join(tmpdir(), `peso-bench-ingest-${randomBytes(4).toString('hex')}.csv`);
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  let database: Database | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const rows = await writeFlightsCsv(path, MIN_ROWS);
    const bytes = statSync(path).size;
    const config = loadConfig({
      DATABASE_URL: scratch.url,
      PESO_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'silent',
    });
    database = await openDatabase(config.database);
    const demo = (await seedDemoOrganization(database.db))!;
    server = await startServer({
      config,
      database,
      log: createLogger('silent'),
      port: 0,
      host: '127.0.0.1',
    });
    const graphqlUrl = `${server.url}/graphql`;
    const auth = { authorization: `Bearer ${demo.apiKey}` };

    const created = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ query: CREATE, variables: { input: { name: 'flights-bench' } } }),
    });
    const createdBody = (await created.json()) as { data?: { createDataset?: any } };
    const dataset = createdBody.data?.createDataset;
    if (dataset?.__typename !== 'Dataset')
      throw new Error(`createDataset failed: ${JSON.stringify(createdBody)}`);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const peso = await measure(async () => {
      const form = new FormData();
      form.set(
        'operations',
        JSON.stringify({ query: UPLOAD, variables: { datasetId: dataset.id, file: null } }),
      );
      form.set('map', JSON.stringify({ 0: ['variables.file'] }));
      form.set('0', await openAsBlob(path), 'flights.csv');
      const res = await fetch(graphqlUrl, { method: 'POST', headers: auth, body: form });
      const text = await res.text();
      let body: { data?: { uploadDatasetVersion?: any } };
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`upload: HTTP ${res.status}, non-JSON body: ${text.slice(0, 500)}`);
      }
      const version = body.data?.uploadDatasetVersion;
      if (version?.__typename !== 'DatasetVersion' || version.rowCount !== rows)
        throw new Error(
          `upload: HTTP ${res.status}, expected a DatasetVersion with ${rows} rows: ${text.slice(0, 1000)}`,
        );
      return version as { rowCount: number; columns: Array<{ name: string; type: string }> };
    });

    // The only version in this scratch database: check its table really holds every row.
    const table = await countRows(database, 'select table_name as n from dataset_versions');
    const stored = await countRows(database, `select count(*)::int as n from ${String(table)}`);
    if (stored !== rows) throw new Error(`Peso's table holds ${stored} rows, expected ${rows}`);

    global.gc?.();
    const rssBeforeCopy = process.memoryUsage().rss;
    const copy = await measure(() => copyBaseline(database!, path));
    if (copy.result !== rows) throw new Error(`COPY loaded ${copy.result} rows, expected ${rows}`);

    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
    const rate = (ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
    console.log(
      `ingest (${database.kind}, ${rows.toLocaleString('en-US')} rows, ${mib(bytes)} CSV; server and client in one process)`,
    );
    console.log(
      `  Peso upload (GraphQL multipart): ${(peso.ms / 1000).toFixed(2)} s, ${rate(peso.ms)}, peak RSS ${mib(peso.peak)} (before ${mib(rssBefore)})`,
    );
    console.log(
      `    inferred columns: ${peso.result.columns.map((c) => `${c.name} ${c.type}`).join(', ')}`,
    );
    console.log(
      `  plain COPY:                      ${(copy.ms / 1000).toFixed(2)} s, ${rate(copy.ms)}, peak RSS ${mib(copy.peak)} (before ${mib(rssBeforeCopy)})`,
    );
    console.log(`  ratio (Peso time / COPY time): ${(peso.ms / copy.ms).toFixed(2)}`);
  } finally {
    await server?.close();
    await database?.close();
    await scratch.drop();
    rmSync(path, { force: true });
  }
}
