/**
 * Redis configured (event bus and rate limits), then killed: requests keep working, rate limits
 * stay on (counted in the database meanwhile), an event that cannot be published is logged and
 * neither fails nor holds the request that caused it, and once Redis is back events reach the
 * subscriptions opened before the outage again. The test runs its own redis-server, so it may
 * kill it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { freePort } from '../helpers/postgres-cluster';
import {
  createApiKey,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const INGESTION = `subscription($id: ID!) { datasetIngestion(datasetId: $id) { versionId status } }`;
const DATASETS = '{ datasets { edges { node { id } } } }';
const CSV = 'a,b\n1,x\n2,y\n';
/** Requests one API key may make per window in this test. */
const PER_KEY = 5;

const missing = spawnSync('redis-server', ['--version']).error
  ? 'redis-server not installed'
  : null;

let redis: ChildProcess | undefined;
let port: number;
let server: TestServer;
const lines: Array<{ msg: string; level: number }> = [];

/** Starts redis-server on `port` without persistence; resolves once it accepts connections. */
async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis not ready:\n${out}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`redis exited ${code}:\n${out}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

async function killRedis() {
  if (!redis || redis.exitCode !== null || redis.signalCode !== null) return;
  const exited = new Promise((resolve) => redis!.once('exit', resolve));
  redis.kill('SIGKILL');
  await exited;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const logged = (msg: string) => lines.some((l) => l.msg === msg);

describe.skipIf(missing)('Redis configured, then unavailable', () => {
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis();
    const log = createLogger('info', {
      write: (line: string) => {
        lines.push(JSON.parse(line));
      },
    });
    server = await startTestServer(
      {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        PESO_RATE_LIMIT_PER_KEY: String(PER_KEY),
        PESO_RATE_LIMIT_WINDOW_SECONDS: '3600',
      },
      { log },
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await killRedis();
  });

  it('keeps answering and limiting without Redis, and streams events again once it is back', async () => {
    const owner = await signUpOwner(server, 'redis');
    const key = await createApiKey(server, owner.token, 'VIEWER');
    const created = await server.gql(CREATE, { input: { name: 'letters' } }, owner.token);
    const datasetId = created.data!.createDataset.id as string;
    const upload = () =>
      server.upload(UPLOAD, { datasetId }, { name: 'letters.csv', content: CSV }, owner.token);
    const readyOf = (events: any[], versionId: string) =>
      events.some(
        (e) =>
          e.data?.datasetIngestion.versionId === versionId &&
          e.data.datasetIngestion.status === 'READY',
      );
    /** Uploads until one upload's READY reaches every stream (subscriptions attach asynchronously). */
    async function uploadUntilSeen(streams: Array<{ events: any[] }>, what: string) {
      for (let attempt = 0; ; attempt++) {
        const res = await upload();
        expect(res.data?.uploadDatasetVersion.__typename, JSON.stringify(res)).toBe(
          'DatasetVersion',
        );
        const id = res.data!.uploadDatasetVersion.id as string;
        try {
          await until(() => streams.every((s) => readyOf(s.events, id)), what, 2_000);
          return;
        } catch (error) {
          if (attempt === 10) throw error;
        }
      }
    }

    const sse = sseSubscribe(server.graphqlUrl, INGESTION, { id: datasetId }, owner.token);
    const ws = subscribe(server.ws(owner.token), INGESTION, { id: datasetId });
    let open = true;
    void Promise.allSettled([sse.done, ws.done]).then(() => (open = false));
    await uploadUntilSeen([sse, ws], 'events through Redis');

    await killRedis();

    // Requests keep working, and an upload (whose events cannot be published) neither fails nor
    // waits for Redis; the lost events are logged.
    const query = await server.gql(DATASETS, {}, owner.token);
    expect(query.status, JSON.stringify(query)).toBe(200);
    expect(query.data?.datasets.edges).toHaveLength(1);
    const during = await upload();
    expect(during.data?.uploadDatasetVersion.__typename, JSON.stringify(during)).toBe(
      'DatasetVersion',
    );
    await until(() => logged('event not published'), 'the lost events in the log');
    expect(logged('rate limits: Redis unavailable, counting in the database meanwhile')).toBe(true);
    // Limits stay on: the key's requests are counted in the database. (Twice the allowance and
    // one: even if a window ends in between, one window sees more than the allowance.)
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 2 * PER_KEY + 1; i++) {
      const res = await server.gql(DATASETS, {}, key.secret);
      codes.push(res.errors?.[0]?.extensions?.code);
    }
    expect(codes).toContain('RATE_LIMITED');
    expect(codes.filter((c) => c !== undefined && c !== 'RATE_LIMITED')).toEqual([]);
    expect(open).toBe(true);

    redis = await startRedis();

    // The subscriber reconnects and resubscribes by itself: the streams opened before the outage
    // get events again.
    await uploadUntilSeen([sse, ws], 'events through Redis after it is back');
    expect(open).toBe(true);
    await until(async () => {
      await server.gql(DATASETS, {}, owner.token);
      return logged('rate limits: Redis is back, counting there again');
    }, 'the rate limiter back on Redis');
    expect(logged('event bus: Redis unavailable')).toBe(true);
    expect(logged('event bus: Redis reconnected')).toBe(true);

    sse.close();
    ws.dispose();
  }, 60_000);
});
