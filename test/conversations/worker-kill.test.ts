import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../db/scratch';
import { usingPostgres } from '../helpers/server';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const WORKER = fileURLToPath(new URL('../../src/jobs/worker-main.ts', import.meta.url));
/** Enough batches of 200 that the test sees the run between its first and its last commit. */
const CONVERSATIONS = 4000;

/** Starts a Peso entry point as its own process group; resolves once `ready` matches its output. */
function start(file: string, env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const started = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${out}`)), 90_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  started.catch(() => {});
  return { child, started };
}

/** Kills a process group this test started, and waits for its leader to exit. */
async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, signal);
  await exited;
}

async function gql(base: string, query: string, variables: object, token?: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-graphql-yoga-csrf': '1',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any };
}

async function upload(base: string, token: string, content: string) {
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({
      query: `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) { __typename ... on ConversationIngest { id } ... on Error { message } } }`,
      variables: { file: null },
    }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([content]), 'c.ndjson');
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-graphql-yoga-csrf': '1' },
    body: form,
  });
  return (await res.json()) as { data?: any; errors?: any };
}

const RUN = `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest {
  status step totalSteps created updated error } } }`;

/**
 * An ingest's worker process killed (SIGKILL, no chance to hand the job back) mid-ingest: the
 * reaper fails the run, and resumed on a new worker it continues after its last committed batch,
 * so every conversation is written once.
 */
describe.skipIf(!usingPostgres)('ingest survives its worker being killed', () => {
  let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
  const children: ChildProcess[] = [];
  let api = '';
  const env: Record<string, string> = {};

  beforeAll(async () => {
    scratch = await scratchDatabase(process.env.TEST_DATABASE_URL);
    Object.assign(env, {
      DATABASE_URL: scratch.url,
      PESO_SECRET: randomBytes(32).toString('base64url'),
      PESO_DEMO: 'off',
      PESO_WORKERS: '0',
      PESO_RUN_TIMEOUT_SECONDS: '5',
      // The test polls the run every 50 ms while the worker starts its pool process.
      PESO_RATE_LIMIT_PER_USER: '1000000',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
    });
    const main = start(MAIN, env, /GraphiQL at (\S+)\/graphql/);
    children.push(main.child);
    api = (await main.started)[1]!;
  }, 120_000);

  afterAll(async () => {
    for (const child of children) await kill(child, 'SIGTERM');
    await scratch?.drop();
  });

  it('fails the run when the worker dies, and resumes it after the last committed batch', async () => {
    const signUp = await gql(
      api,
      'mutation($i: SignUpInput!) { signUp(input: $i) { ... on AuthPayload { token } } }',
      {
        i: {
          email: 'kill@example.com',
          password: 'correct horse battery',
          name: 'K',
          organizationName: 'K',
        },
      },
    );
    const token = signUp.data.signUp.token as string;
    const lines = Array.from({ length: CONVERSATIONS }, (_, i) =>
      JSON.stringify({
        externalId: `k-${i}`,
        channel: 'chat',
        inbox: 'main',
        messages: [
          {
            role: 'USER',
            text: `Order ${i} has not arrived, where is it?`,
            sentAt: '2026-04-01T09:00:00Z',
          },
          { role: 'AGENT', text: 'Checking now.', sentAt: '2026-04-01T09:03:00Z' },
        ],
      }),
    );
    const queued = await upload(api, token, lines.join('\n'));
    const runId = queued.data.ingestConversations.id as string;
    expect(runId).toBeTruthy();

    const worker = start(WORKER, env, /Peso worker ready/);
    children.push(worker.child);
    await worker.started;
    // Kill it once at least one batch is committed and the run is not done.
    let run: any;
    for (let i = 0; i < 1200; i++) {
      run = (await gql(api, RUN, { id: runId }, token)).data.conversationIngest;
      if (run.step >= 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill(worker.child, 'SIGKILL');
    run = (await gql(api, RUN, { id: runId }, token)).data.conversationIngest;
    expect(run.status).toBe('RUNNING');
    expect(run.step).toBeGreaterThanOrEqual(200);
    expect(run.step).toBeLessThan(CONVERSATIONS);
    const committed = run.step as number;

    // The API process's reaper fails it once heartbeats stop (PESO_RUN_TIMEOUT_SECONDS=5).
    for (let i = 0; i < 600 && run.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = (await gql(api, RUN, { id: runId }, token)).data.conversationIngest;
    }
    expect(run).toMatchObject({
      status: 'FAILED',
      step: committed,
      created: committed,
      updated: 0,
    });
    expect(run.error).toMatch(/stopped responding/);
    const stored = await gql(
      api,
      '{ conversations(first: 1) { ... on ConversationList { totalCount } } }',
      {},
      token,
    );
    expect(stored.data.conversations.totalCount).toBe(committed);

    const resumed = await gql(
      api,
      'mutation($id: ID!) { resumeConversationIngest(id: $id) { __typename ... on ConversationIngest { status } } }',
      { id: runId },
      token,
    );
    expect(resumed.data.resumeConversationIngest).toEqual({
      __typename: 'ConversationIngest',
      status: 'QUEUED',
    });
    const second = start(WORKER, env, /Peso worker ready/);
    children.push(second.child);
    await second.started;
    run = { status: 'QUEUED' };
    for (let i = 0; i < 1800 && run.status !== 'SUCCEEDED' && run.status !== 'FAILED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = (await gql(api, RUN, { id: runId }, token)).data.conversationIngest;
    }
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      step: CONVERSATIONS,
      created: CONVERSATIONS,
      updated: 0,
    });
    const after = await gql(
      api,
      '{ conversations(first: 1) { ... on ConversationList { totalCount } } }',
      {},
      token,
    );
    expect(after.data.conversations.totalCount).toBe(CONVERSATIONS);
  }, 600_000);
});
