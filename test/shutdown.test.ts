/**
 * SIGTERM drains: the server takes no new connections, finishes a request in flight (an upload
 * still sending its body), ends SSE and WebSocket subscriptions cleanly, and the process exits
 * 0 well within 30 s. Runs `src/main.ts` as its own process, as `npm start` does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sseSubscribe } from './helpers/sse';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function gql(base: string, query: string, variables: object, token?: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any };
}

describe('SIGTERM', () => {
  it('drains requests in flight and ends subscriptions cleanly, then exits 0', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: 'memory://',
        PESO_SECRET: randomBytes(32).toString('base64url'),
        PESO_DEMO: 'off',
        PESO_WORKERS: '0',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /GraphiQL at (\S+)\/graphql/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));

    const signUp = await gql(
      base,
      `mutation($input: SignUpInput!) { signUp(input: $input) { ... on AuthPayload { token } } }`,
      {
        input: {
          email: 'drain@example.com',
          password: 'correct horse battery',
          name: 'Drain',
          organizationName: 'Drain',
        },
      },
    );
    const token = signUp.data.signUp.token as string;
    const created = await gql(
      base,
      'mutation { createDataset(input: { name: "drain" }) { ... on Dataset { id } } }',
      {},
      token,
    );
    const signed = await gql(
      base,
      `mutation($id: ID!) { createUploadUrl(datasetId: $id, filename: "a.csv") { ... on UploadUrl { url } } }`,
      { id: created.data.createDataset.id },
      token,
    );
    const uploadUrl = signed.data.createUploadUrl.url as string;

    // Live subscriptions on both transports.
    const sse = sseSubscribe(
      `${base}/graphql`,
      'subscription { heartbeat(intervalSeconds: 300) { role } }',
      {},
      token,
    );
    let wsClosed: number | null = null;
    const ws = createClient({
      url: `${base.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      on: { closed: (event) => (wsClosed = (event as { code: number }).code) },
    });
    const wsEvents: unknown[] = [];
    const wsDone = new Promise<void>((resolve) => {
      ws.subscribe(
        { query: 'subscription { heartbeat(intervalSeconds: 300) { role } }' },
        { next: (v) => wsEvents.push(v), error: () => resolve(), complete: () => resolve() },
      );
    });
    while (sse.events.length === 0 || wsEvents.length === 0)
      await new Promise((r) => setTimeout(r, 20));

    // An upload in flight: the header and first rows are sent, the rest after SIGTERM.
    const body = 'a,b\n1,x\n2,y\n';
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        uploadUrl,
        { method: 'PUT', headers: { 'content-length': String(body.length) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 8));
      setTimeout(() => {
        child!.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(8)), 500);
      }, 200);
    });

    const uploaded = await response;
    expect(uploaded.status, uploaded.text).toBe(201);
    expect(JSON.parse(uploaded.text)).toMatchObject({ version: { rowCount: 2 } });
    await sse.done;
    await wsDone;
    expect(wsClosed).toBe(1001);
    // New connections are refused while draining or after.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    expect(await exited, output).toBe(0);
    await ws.dispose();
  }, 90_000);
});
