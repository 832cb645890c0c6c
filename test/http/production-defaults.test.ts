import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { loadTrustedDocuments } from '../../src/http/trusted-documents';
import {
  createApiKey,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

/**
 * What an anonymous or cross-site caller gets by default, and that each default can be changed:
 * introspection and "Did you mean" suggestions, GraphiQL, CSRF prevention for requests a
 * browser sends without a preflight, the Origin allow-list of CORS and WebSocket upgrades, and
 * trusted documents for API keys.
 */
const INTROSPECT = '{ __schema { queryType { name } } }';
const ME = 'query Me { viewer { id kind } }';
const BEAT = 'subscription Beat { heartbeat(intervalSeconds: 1) { role } }';
const LOGIN = `mutation { login(input: { email: "x@example.com", password: "wrong password" }) { __typename } }`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** A socket opened the way a browser page at `origin` opens one; resolves how it went. */
function openSocket(url: string, origin?: string) {
  return new Promise<'open' | number>((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
      ...(origin ? { origin } : {}),
    });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', () => {});
  });
}

describe('introspection and suggestions (defaults)', () => {
  it('refuses introspection to anonymous callers over HTTP and WebSocket', async () => {
    const res = await server.gql(INTROSPECT);
    expect(res.data?.__schema).toBeUndefined();
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const typeByName = await server.gql('{ __type(name: "Dataset") { fields { name } } }');
    expect(typeByName.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const sub = subscribe(server.ws(), INTROSPECT);
    await sub.done;
    const errors = (sub.events[0]?.errors ?? sub.errors[0]) as any[];
    expect(errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(sub.events)).not.toContain('queryType');
  });

  it('lets signed-in members and API keys introspect (GraphiQL, tools)', async () => {
    const member = await server.gql(INTROSPECT, {}, owner.token);
    expect(member.data?.__schema.queryType.name).toBe('Query');
    const key = await createApiKey(server, owner.token, 'VIEWER');
    const byKey = await server.gql(INTROSPECT, {}, key.secret);
    expect(byKey.data?.__schema.queryType.name).toBe('Query');
    const sub = subscribe(server.ws(owner.token), INTROSPECT);
    await sub.done;
    expect((sub.events[0] as any).data.__schema.queryType.name).toBe('Query');
  });

  it('answers __typename to anyone', async () => {
    expect((await server.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('says no "Did you mean" in validation or coercion errors, on HTTP and WebSocket', async () => {
    const field = await server.gql('{ datasetz }');
    expect(field.errors?.[0]?.message).toMatch(/Cannot query field "datasetz"/);
    const coercion = await server.gql(
      'mutation($r: Role!) { setMemberRole(membershipId: "x", role: $r) { __typename } }',
      { r: 'ADMN' },
      owner.token,
    );
    expect(coercion.errors?.length).toBeGreaterThan(0);
    const sub = subscribe(server.ws(), '{ datasetz }');
    await sub.done;
    for (const text of [JSON.stringify(field), JSON.stringify(coercion), JSON.stringify(sub)]) {
      expect(text).not.toMatch(/Did you mean/);
    }
  });

  it('can be opened up, or closed to everyone', async () => {
    const open = await startTestServer({ PESO_INTROSPECTION: 'on', PESO_SUGGESTIONS: 'on' });
    const closed = await startTestServer({ PESO_INTROSPECTION: 'off' });
    try {
      expect((await open.gql(INTROSPECT)).data?.__schema.queryType.name).toBe('Query');
      expect(JSON.stringify(await open.gql('{ datasetz }'))).toMatch(/Did you mean/);
      const token = (await signUpOwner(closed)).token;
      const refused = await closed.gql(INTROSPECT, {}, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await open.close();
      await closed.close();
    }
  });
});

describe('GraphiQL', () => {
  it('is served to browsers by default, and can be turned off', async () => {
    const page = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Peso GraphiQL');

    const off = await startTestServer({ PESO_GRAPHIQL: 'off' });
    try {
      const res = await fetch(off.graphqlUrl, { headers: { accept: 'text/html' } });
      expect(await res.text()).not.toContain('GraphiQL');
    } finally {
      await off.close();
    }
  });

  it('is off by default in production', () => {
    const base = { DATABASE_URL: 'memory://' };
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).graphiql).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: 'production', PESO_GRAPHIQL: 'on' }).graphiql).toBe(
      true,
    );
    expect(loadConfig(base).graphiql).toBe(true);
  });
});

describe('CSRF prevention', () => {
  it('does not run a form-encoded or text/plain POST (login reachable cross-site)', async () => {
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', new URLSearchParams({ query: LOGIN }).toString()],
      ['text/plain', JSON.stringify({ query: LOGIN })],
    ]) {
      const res = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': type! },
        body,
      });
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).toContain('x-graphql-yoga-csrf');
      expect(text).not.toContain('__typename');
    }
  });

  it('does not run a multipart POST without the header, and runs one with it', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: LOGIN }));
    form.set('map', '{}');
    const bare = await fetch(server.graphqlUrl, { method: 'POST', body: form });
    expect(bare.status).toBe(403);
    const withHeader = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'x-graphql-yoga-csrf': '1' },
      body: form,
    });
    const body = await withHeader.json();
    expect(withHeader.status, JSON.stringify(body)).toBe(200);
    // It ran: the login itself answered (a wrong password), not the CSRF check.
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('leaves JSON POSTs, GET queries and signed-URL PUT uploads alone', async () => {
    expect((await server.gql('{ __typename }')).status).toBe(200);
    const get = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(get.status).toBe(200);

    const dataset = await server.gql(
      'mutation { createDataset(input: { name: "put" }) { ... on Dataset { id } } }',
      {},
      owner.token,
    );
    const signed = await server.gql(
      `mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "a.csv") { ... on UploadUrl { url } } }`,
      { d: dataset.data!.createDataset.id },
      owner.token,
    );
    const put = await fetch(signed.data!.createUploadUrl.url, {
      method: 'PUT',
      body: 'a,b\n1,2\n',
    });
    expect(put.status).toBe(201);
  });

  it('can be turned off', async () => {
    const off = await startTestServer({ PESO_CSRF_PREVENTION: 'off' });
    try {
      const res = await fetch(off.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: '{ __typename }' }).toString(),
      });
      expect(res.status).toBe(200);
    } finally {
      await off.close();
    }
  });
});

describe('Origins (CORS and WebSocket)', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });

  it('allows no cross-origin page by default, over HTTP or WebSocket', async () => {
    const pre = await preflight(server.graphqlUrl, 'https://evil.example');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    expect(await openSocket(server.graphqlUrl, 'https://evil.example')).toBe(401);
  });

  it('allows the API own origin and clients that send no Origin', async () => {
    expect(await openSocket(server.graphqlUrl)).toBe('open');
    expect(await openSocket(server.graphqlUrl, server.url.replace('localhost', '127.0.0.1'))).toBe(
      'open',
    );
  });

  it('allows the listed origins, without credentials', async () => {
    const listed = await startTestServer({ PESO_ALLOWED_ORIGINS: 'https://app.example' });
    try {
      const pre = await preflight(listed.graphqlUrl, 'https://app.example');
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      const other = await preflight(listed.graphqlUrl, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(await openSocket(listed.graphqlUrl, 'https://app.example')).toBe('open');
      expect(await openSocket(listed.graphqlUrl, 'https://evil.example')).toBe(401);
    } finally {
      await listed.close();
    }
  });

  it('refuses a malformed allow-list at start-up, naming the variable', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: 'memory://', PESO_ALLOWED_ORIGINS: 'https://app.example/path' }),
    ).toThrow(/PESO_ALLOWED_ORIGINS/);
  });
});

describe('trusted documents', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  let trusted: TestServer;
  let key: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peso-trusted-'));
    const manifest = join(dir, 'persisted-documents.json');
    // The shape codegen's client preset writes (examples/generated/persisted-documents.json).
    writeFileSync(
      manifest,
      JSON.stringify({ [`sha256:${sha256(ME)}`]: ME, [`sha256:${sha256(BEAT)}`]: BEAT }),
    );
    trusted = await startTestServer({ PESO_TRUSTED_DOCUMENTS: manifest });
    const member = await signUpOwner(trusted);
    key = (await createApiKey(trusted, member.token, 'VIEWER')).secret;
  }, 60_000);

  afterAll(async () => {
    await trusted?.close();
  });

  it('refuses an API key any document the manifest does not list (HTTP)', async () => {
    const res = await trusted.gql('{ viewer { id } }', {}, key);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    expect(res.data).toBeUndefined();
  });

  it('runs a listed document sent as text, by documentId or by persistedQuery hash', async () => {
    expect((await trusted.gql(ME, {}, key)).data?.viewer.kind).toBe('API_KEY');
    for (const body of [
      { documentId: `sha256:${sha256(ME)}` },
      { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(ME) } } },
    ]) {
      const res = await fetch(trusted.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
      expect((await res.json()).data.viewer.kind).toBe('API_KEY');
    }
    const unknown = await fetch(trusted.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ documentId: `sha256:${sha256('{ __typename }')}` }),
    });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('applies over SSE and WebSocket too', async () => {
    const stream = sseSubscribe(
      trusted.graphqlUrl,
      'subscription { heartbeat(intervalSeconds: 1) { at } }',
      {},
      key,
    );
    await stream.done;
    expect(JSON.stringify(stream.events)).toContain('PERSISTED_QUERY_NOT_ALLOWED');

    const client = trusted.ws(key);
    const refused = subscribe(client, '{ viewer { id } }');
    await refused.done;
    expect(JSON.stringify(refused.errors)).toContain('PERSISTED_QUERY_NOT_ALLOWED');
    const listed = subscribe(client, ME);
    await listed.done;
    expect((listed.events[0] as any).data.viewer.kind).toBe('API_KEY');
  });

  it('leaves members free to send any document', async () => {
    const member = await signUpOwner(trusted, 'member');
    const res = await trusted.gql('{ viewer { id kind } }', {}, member.token);
    expect(res.data?.viewer.kind).toBe('USER');
  });

  it('refuses a manifest whose hashes do not match, naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peso-trusted-'));
    const manifest = join(dir, 'bad.json');
    writeFileSync(manifest, JSON.stringify({ [`sha256:${sha256(ME)}`]: '{ __typename }' }));
    expect(() => loadTrustedDocuments(manifest)).toThrow(/PESO_TRUSTED_DOCUMENTS/);
  });
});
