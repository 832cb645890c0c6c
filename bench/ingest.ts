import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { writeFlightsCsv } from './flights';
import { graphql, putFile } from './http';

const MIN_ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 1_000_000);
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The server's resident set now and at its peak (Linux VmRSS / VmHWM), in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
}

/** Starts `npm start`'s entry as its own process; resolves with its URL and demo API key. */
async function startPeso(env: Record<string, string>): Promise<{
  child: ChildProcess;
  url: string;
  apiKey: string;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`Peso exited (${code}) before it was ready:\n${out}`)),
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /GraphiQL at (\S+)\/graphql/.exec(out)?.[1];
      const apiKey = /API key:\s+(\S+)/.exec(out)?.[1];
      if (url && apiKey) resolve({ child, url, apiKey });
    });
  });
}

async function stopPeso(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

const gql = (url: string, apiKey: string, query: string, variables: object) =>
  graphql(`${url}/graphql`, apiKey, query, variables);

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
 * A ≥1M-row CSV loaded end to end through Peso's own path for large files — `createUploadUrl`,
 * then a streamed PUT to the signed URL into typed storage — with Peso running as its own
 * process (`src/main.ts`, as `npm start` runs it) so its peak RSS is its own. Against it, the
 * same file through a plain `COPY … FROM STDIN` into a hand-made table in the same database.
 */
export async function benchIngest(): Promise<void> {
  const path = join(tmpdir(), `peso-bench-ingest-${randomBytes(4).toString('hex')}.csv`);
  const dataDir = mkdtempSync(join(tmpdir(), 'peso-bench-data-'));
  const scratch = process.env.BENCH_DATABASE_URL
    ? await scratchDatabase(process.env.BENCH_DATABASE_URL)
    : null;
  let peso: Awaited<ReturnType<typeof startPeso>> | null = null;
  let database: Database | undefined;
  try {
    const rows = await writeFlightsCsv(path, MIN_ROWS);
    const bytes = statSync(path).size;
    peso = await startPeso({
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
      PESO_DATA_DIR: dataDir,
      PESO_SECRET: randomBytes(32).toString('base64url'),
      PESO_DEMO: 'off',
      PESO_WORKERS: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    const created = await gql(
      peso.url,
      peso.apiKey,
      'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename ... on Dataset { id } ... on Error { message } } }',
      { input: { name: 'flights-bench' } },
    );
    const datasetId = created.data?.createDataset?.id;
    if (!datasetId) throw new Error(`createDataset failed: ${JSON.stringify(created)}`);
    const before = memoryOf(peso.child.pid!);
    const start = performance.now();
    const signed = await gql(
      peso.url,
      peso.apiKey,
      'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "flights.csv") { __typename ... on UploadUrl { url } ... on Error { message } } }',
      { d: datasetId },
    );
    const uploadUrl = signed.data?.createUploadUrl?.url;
    if (!uploadUrl) throw new Error(`createUploadUrl failed: ${JSON.stringify(signed)}`);
    const res = await putFile(uploadUrl, path);
    const pesoMs = performance.now() - start;
    if (res.status !== 201 || res.body.version?.rowCount !== rows)
      throw new Error(`upload: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    const after = memoryOf(peso.child.pid!);
    const columns = await gql(
      peso.url,
      peso.apiKey,
      'query($d: ID!) { dataset(id: $d) { currentVersion { columns { name type } } } }',
      { d: datasetId },
    );
    await stopPeso(peso.child);

    // Peso is stopped: the baseline opens the same database (PGlite has one process).
    database = await openDatabase(
      scratch
        ? { kind: 'postgres', url: scratch.url }
        : { kind: 'pglite', dataDir: join(dataDir, 'db') },
    );
    const table = await (database.kind === 'postgres'
      ? database.sql.unsafe('select table_name as t from dataset_versions').then((r) => r[0]?.t)
      : database.pglite
          .query<{ t: string }>('select table_name as t from dataset_versions')
          .then((r) => r.rows[0]?.t));
    const stored = await (database.kind === 'postgres'
      ? database.sql.unsafe(`select count(*)::int as n from ${table}`).then((r) => Number(r[0]?.n))
      : database.pglite
          .query<{ n: number }>(`select count(*)::int as n from ${table}`)
          .then((r) => Number(r.rows[0]?.n)));
    if (stored !== rows) throw new Error(`Peso's table holds ${stored} rows, expected ${rows}`);
    const copyStart = performance.now();
    const copied = await copyBaseline(database, path);
    const copyMs = performance.now() - copyStart;
    if (copied !== rows) throw new Error(`COPY loaded ${copied} rows, expected ${rows}`);

    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
    const rate = (ms: number) => Math.round(rows / (ms / 1000));
    const kind = scratch ? 'postgres' : 'pglite';
    console.log(
      `ingest (${kind}, ${rows.toLocaleString('en-US')} rows, ${mib(bytes)} CSV; Peso in its own process)`,
    );
    console.log(
      `  Peso (createUploadUrl + streamed PUT): ${(pesoMs / 1000).toFixed(2)} s, ${rate(pesoMs).toLocaleString('en-US')} rows/s; server RSS ${mib(before.rss)} before, peak ${mib(after.peak)}`,
    );
    console.log(
      `    columns: ${columns.data?.dataset?.currentVersion?.columns.map((c: any) => `${c.name} ${c.type}`).join(', ')}`,
    );
    console.log(
      `  plain COPY (same database):           ${(copyMs / 1000).toFixed(2)} s, ${rate(copyMs).toLocaleString('en-US')} rows/s`,
    );
    console.log(`  ratio (Peso rows/s / COPY rows/s): ${(copyMs / pesoMs).toFixed(2)}`);
  } finally {
    if (peso) await stopPeso(peso.child);
    await database?.close();
    await scratch?.drop();
    rmSync(path, { force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
