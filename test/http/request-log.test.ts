import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/log';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

/**
 * One log line per request, whatever the route: GraphQL requests with their operation's name,
 * signed uploads and exports by route (never their signed path), WebSocket connections,
 * operations and closes — and a WebSocket refused for its credential is told why.
 */

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const lines: Array<Record<string, any>> = [];
let log: ReturnType<typeof createLogger>;

const logged = (msg: string) => lines.filter((l) => l.msg === msg);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  log = createLogger('info', sink);
  server = await startTestServer({}, { log });
  owner = await signUpOwner(server, 'request-log');
});

afterAll(() => server?.close());

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('request logs', () => {
  it('name the GraphQL operation: the one asked for, the only one, or none', async () => {
    const send = (body: Record<string, unknown>, requestId: string) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${owner.token}`,
          'x-request-id': requestId,
        },
        body: JSON.stringify(body),
      });
    await send({ query: 'query Who { viewer { id } }' }, 'log-named');
    await send(
      { query: 'query A { viewer { id } } mutation B { __typename }', operationName: 'A' },
      'log-chosen',
    );
    await send({ query: '{ viewer { id } }' }, 'log-anonymous');
    await send({ query: '{ nope' }, 'log-unparsable');
    const line = (id: string) => until(() => logged('request').find((l) => l.requestId === id));
    expect(await line('log-named')).toMatchObject({
      method: 'POST',
      path: '/graphql',
      operation: 'Who',
      operationType: 'query',
      status: 200,
    });
    expect(await line('log-chosen')).toMatchObject({ operation: 'A', operationType: 'query' });
    expect(await line('log-anonymous')).toMatchObject({ operation: null, operationType: 'query' });
    const unparsable = await line('log-unparsable');
    expect(unparsable.operation).toBeUndefined();
    expect(unparsable.path).toBe('/graphql');
  });

  it('are not written below the info level, and the request id is still answered', async () => {
    const send = (requestId: string) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    log.level = 'warn';
    try {
      const quiet = await send('log-quiet');
      expect(quiet.headers.get('x-request-id')).toBe('log-quiet');
    } finally {
      log.level = 'info';
    }
    // The line of a later request is written: the quiet one would be there before it.
    await send('log-loud');
    await until(() => logged('request').find((l) => l.requestId === 'log-loud'));
    expect(logged('request').find((l) => l.requestId === 'log-quiet')).toBeUndefined();
  });

  it('include signed uploads and exports, by route and without the signed token', async () => {
    const created = await server.gql(
      `mutation { createDataset(input: { name: "logged" }) { ... on Dataset { id } } }`,
      {},
      owner.token,
    );
    const datasetId = created.data!.createDataset.id;
    const signed = await server.gql(
      `mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "a.csv") { ... on UploadUrl { url } } }`,
      { d: datasetId },
      owner.token,
    );
    const uploadUrl = signed.data!.createUploadUrl.url as string;
    const put = await fetch(uploadUrl, {
      method: 'PUT',
      body: 'a,b\n1,2\n3,4\n',
      headers: { 'x-request-id': 'log-upload' },
    });
    expect(put.status).toBe(201);
    const exported = await server.gql(
      `mutation($d: ID!) { exportQuery(datasetId: $d, input: {}, format: CSV) { ... on ExportLink { url } ... on Error { code message } } }`,
      { d: datasetId },
      owner.token,
    );
    const exportUrl = exported.data?.exportQuery?.url as string;
    expect(exportUrl, JSON.stringify(exported)).toContain('/exports/');
    const download = await fetch(exportUrl, { headers: { 'x-request-id': 'log-export' } });
    expect(await download.text()).toContain('a,b');
    // A refused one is logged too.
    const refused = await fetch(`${server.url}/uploads/not-a-token`, {
      method: 'PUT',
      body: 'x',
      headers: { 'x-request-id': 'log-refused' },
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);

    const line = (id: string) => until(() => logged('request').find((l) => l.requestId === id));
    expect(await line('log-upload')).toMatchObject({
      method: 'PUT',
      path: '/uploads/',
      status: 201,
    });
    expect(await line('log-export')).toMatchObject({
      method: 'GET',
      path: '/exports/',
      status: 200,
    });
    expect(await line('log-refused')).toMatchObject({
      path: '/uploads/',
      status: refused.status,
    });
    // The signed part of a URL (a credential) appears in no log line.
    const uploadToken = new URL(uploadUrl).pathname.slice('/uploads/'.length);
    const exportToken = new URL(exportUrl).pathname.slice('/exports/'.length);
    const all = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(all).not.toContain(uploadToken);
    expect(all).not.toContain(exportToken);
  });

  it('include WebSocket connections, their operations and how they closed', async () => {
    const client = server.ws(owner.token);
    const result = await new Promise<unknown>((resolve, reject) => {
      client.subscribe(
        { query: 'query Mine { viewer { id } }' },
        { next: resolve, error: reject, complete: () => {} },
      );
    });
    expect(result).toMatchObject({ data: { viewer: { id: expect.any(String) } } });
    await client.dispose();
    const operation = await until(() =>
      logged('websocket operation').find((l) => l.operation === 'Mine'),
    );
    expect(operation.operationType).toBe('query');
    const connected = logged('websocket connected').find(
      (l) => l.connectionId === operation.connectionId,
    );
    expect(connected).toMatchObject({ accepted: true, path: '/graphql' });
    const closed = await until(() =>
      logged('websocket closed').find((l) => l.connectionId === operation.connectionId),
    );
    expect(closed.code).toBe(1000);
  });
});

describe('a WebSocket refused for its credential', () => {
  /** Opens a raw graphql-ws connection and answers how the server closed it. */
  const refusal = (authorization: unknown) =>
    new Promise<{ code: number; reason: string }>((resolve) => {
      const socket = new WebSocket(
        server.graphqlUrl.replace(/^http/, 'ws'),
        'graphql-transport-ws',
      );
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })),
      );
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });

  it('is closed with 4403 and the reason, so a client knows not to retry it', async () => {
    expect(await refusal('Bearer not-a-token')).toEqual({
      code: 4403,
      reason: expect.stringMatching(/^Forbidden: \S/),
    });
    expect(await refusal('Token abc')).toEqual({
      code: 4403,
      reason: 'Forbidden: Authorization must be "Bearer <token or API key>".',
    });
    expect(await refusal(42)).toEqual({
      code: 4403,
      reason: 'Forbidden: authorization must be "Bearer <token or API key>".',
    });
    const revoked = await refusal(
      'Bearer peso_AAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    );
    expect(revoked.code).toBe(4403);
    expect(revoked.reason).toMatch(/^Forbidden: /);
    expect(Buffer.byteLength(revoked.reason)).toBeLessThanOrEqual(123);
    const refused = logged('websocket connected').filter((l) => l.accepted === false);
    expect(refused.length).toBeGreaterThanOrEqual(4);
  });
});
