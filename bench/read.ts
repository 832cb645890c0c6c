import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { scratchDatabase } from '../db/scratch';
import { graphql, percentile } from './http';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const RAW = fileURLToPath(new URL('./read-raw-server.ts', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_READ_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_READ_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_READ_ROUND_MS ?? 4_000);
const DATASETS = 10;

const READ = `{ datasets(first: ${DATASETS}) { edges { node { id name currentVersion { rowCount columns { name type } } } } } }`;

/** Starts a process; resolves once `ready` matches its output (stdout and stderr). */
function start(file: string, env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const started = new Promise<RegExpExecArray>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}):\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) resolve(match);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return { child, started };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function gql(url: string, token: string | null, query: string, variables: object = {}) {
  const body = await graphql(`${url}/graphql`, token, query, variables);
  if (body.errors?.length || !body.data)
    throw new Error(`HTTP ${body.status}: ${JSON.stringify(body).slice(0, 1000)}`);
  return body.data;
}

/** Ten small datasets, each readable by the demo API key through a policy naming it. */
async function seed(url: string, email: string, password: string) {
  const login = await gql(
    url,
    null,
    'mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload { token } } }',
    { i: { email, password } },
  );
  const token = login.login.token as string;
  const keys = await gql(url, token, '{ apiKeys { edges { node { id name } } } }');
  const keyId = keys.apiKeys.edges.find((e: any) => e.node.name === 'Demo key').node.id;
  for (let i = 0; i < DATASETS; i++) {
    const created = await gql(
      url,
      token,
      'mutation($i: CreateDatasetInput!) { createDataset(input: $i) { ... on Dataset { id } } }',
      { i: { name: `read-bench-${String(i).padStart(2, '0')}` } },
    );
    const id = created.createDataset.id as string;
    const signed = await gql(
      url,
      token,
      'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "t.csv") { ... on UploadUrl { url } } }',
      { d: id },
    );
    const rows = Array.from(
      { length: 200 },
      (_, r) => `${r},item ${r},${(r * 1.5).toFixed(1)},${r % 2 === 0},2024-01-${(r % 28) + 1}`,
    );
    const put = await fetch(signed.createUploadUrl.url, {
      method: 'PUT',
      body: ['id,label,price,active,day', ...rows].join('\n'),
    });
    if (put.status !== 201) throw new Error(`upload: HTTP ${put.status} ${await put.text()}`);
    const policy = await gql(
      url,
      token,
      'mutation($i: DatasetPolicyInput!) { setDatasetPolicy(input: $i) { __typename } }',
      { i: { datasetId: id, apiKeyId: keyId } },
    );
    if (policy.setDatasetPolicy.__typename !== 'DatasetPolicy')
      throw new Error(`policy: ${JSON.stringify(policy)}`);
  }
}

async function startPeso(env: Record<string, string>) {
  const peso = start(
    MAIN,
    {
      PESO_SECRET: randomBytes(32).toString('base64url'),
      PESO_DEMO: 'off',
      PESO_WORKERS: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // Thousands of requests a second from one key and address: counted, never refused.
      PESO_RATE_LIMIT_PER_KEY: '100000000',
      PESO_RATE_LIMIT_PER_ADDRESS: '100000000',
      ...env,
    },
    /password:\s+(\S+)[\s\S]*API key:\s+(\S+)[\s\S]*GraphiQL at (\S+)\/graphql/,
  );
  const match = await peso.started;
  return { child: peso.child, password: match[1]!, apiKey: match[2]!, url: match[3]! };
}

interface Target {
  name: string;
  url: string;
  samples: number[];
  requests: number;
  errors: number;
  ms: number;
}

/** POSTs the read `CONNECTIONS` at a time over keep-alive sockets for `ms`. */
async function load(target: Target, apiKey: string, agent: Agent, ms: number, record: boolean) {
  const url = new URL(`${target.url}/graphql`);
  const body = JSON.stringify({ query: READ });
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    authorization: `Bearer ${apiKey}`,
  };
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await one().catch(() => 0);
        if (!record) continue;
        target.samples.push(performance.now() - t);
        target.requests++;
        if (status !== 200) target.errors++;
      }
    }),
  );
  if (record) target.ms += performance.now() - started;
}

async function body(url: string, apiKey: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: READ }),
  });
  return { status: res.status, json: await res.json() };
}

/**
 * The read with an API key at 32 connections: Peso on PostgreSQL and on PGlite (each as
 * `npm start` runs it, its own process) against the raw node:http + postgres.js server of
 * `read-raw-server.ts` over the same PostgreSQL data; bodies checked equal first, then rounds
 * interleaved. Env: BENCH_DATABASE_URL (required), BENCH_READ_ROUNDS (5), BENCH_READ_ROUND_MS
 * (4000), BENCH_READ_CONNECTIONS (32), BENCH_READ_PROFILE (a folder for the PostgreSQL
 * server's CPU profile).
 */
export async function benchRead(): Promise<void> {
  const base = process.env.BENCH_DATABASE_URL;
  if (!base) throw new Error('read: set BENCH_DATABASE_URL (the raw baseline is PostgreSQL)');
  const scratch = await scratchDatabase(base);
  const dataDir = mkdtempSync(join(tmpdir(), 'peso-bench-read-'));
  const children: ChildProcess[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    // BENCH_READ_PROFILE=dir: a CPU profile of the PostgreSQL server, written there on exit.
    const profile = process.env.BENCH_READ_PROFILE;
    const pg = await startPeso({
      DATABASE_URL: scratch.url,
      ...(profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile}` } : {}),
    });
    children.push(pg.child);
    const lite = await startPeso({ PESO_DATA_DIR: dataDir });
    children.push(lite.child);
    // As the demo owner, with the password printed once at start.
    for (const peso of [pg, lite]) await seed(peso.url, 'owner@demo.peso.local', peso.password);
    const raw = start(RAW, { DATABASE_URL: scratch.url }, /raw server at (\S+)/);
    children.push(raw.child);
    const rawUrl = (await raw.started)[1]!;

    // Same answer from all three (ids differ between the two databases, so PGlite is compared
    // by shape: names, counts and columns).
    const a = await body(pg.url, pg.apiKey);
    const b = await body(rawUrl, pg.apiKey);
    const c = await body(lite.url, lite.apiKey);
    if (a.status !== 200 || !isDeepStrictEqual(a.json, b.json))
      throw new Error(`Peso and raw disagree:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
    const strip = (j: any) => j.data.datasets.edges.map((e: any) => ({ ...e.node, id: null }));
    if (c.status !== 200 || !isDeepStrictEqual(strip(a.json), strip(c.json)))
      throw new Error(`PGlite answers differently:\n${JSON.stringify(c)}`);
    if (a.json.data.datasets.edges.length !== DATASETS)
      throw new Error(`expected ${DATASETS} datasets: ${JSON.stringify(a.json)}`);

    const make = (name: string, url: string): Target => ({
      name,
      url,
      samples: [],
      requests: 0,
      errors: 0,
      ms: 0,
    });
    const targets = [
      { target: make('raw node:http + postgres.js', rawUrl), key: pg.apiKey },
      { target: make('Peso, PostgreSQL', pg.url), key: pg.apiKey },
      { target: make('Peso, PGlite', lite.url), key: lite.apiKey },
    ];
    for (const { target, key } of targets) await load(target, key, agent, 1_500, false);
    for (let round = 0; round < ROUNDS; round++)
      for (const { target, key } of targets) await load(target, key, agent, ROUND_MS, true);

    console.log(
      `read (${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s each)`,
    );
    const rate = (t: Target) => (t.requests / t.ms) * 1000;
    for (const { target } of targets) {
      const sorted = target.samples.sort((x, y) => x - y);
      console.log(
        `  ${target.name.padEnd(28)} ${rate(target).toFixed(0).padStart(6)} req/s, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, errors ${target.errors}`,
      );
    }
    const [rawT, pgT, liteT] = targets.map((t) => t.target) as [Target, Target, Target];
    console.log(`  Peso PostgreSQL / raw:   ${(rate(pgT) / rate(rawT)).toFixed(2)}`);
    console.log(`  Peso PGlite / PostgreSQL: ${(rate(liteT) / rate(pgT)).toFixed(2)}`);
  } finally {
    agent.destroy();
    for (const child of children) await stop(child);
    await scratch.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
