/**
 * The REST API (/api/v1) and its OpenAPI document: the document validates as OpenAPI 3, each
 * REST call answers what its GraphQL operation answers, under the same credential, gate, limits
 * and typed errors. Attacker's tests first: no credential, another org, a key no policy names,
 * a masked column, a row policy, a flood.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { customers, loadCustomers, QUERY, SET_POLICY } from '../query/fixtures';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
/** Named in a policy on `named` only: rows of region north, PII masked (ANALYST). */
let key: string;
const ids = { named: '', unnamed: '', foreign: '' };
const emails = customers().map((c) => c.email);

async function rest(
  method: 'GET' | 'POST',
  path: string,
  auth?: string | null,
  body?: unknown,
  target: TestServer = server,
) {
  const response = await fetch(`${target.url}/api/v1${path}`, {
    method,
    headers: {
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

const DATASET_FIELDS = `id name description tags createdAt updatedAt
  currentVersion { id number rowCount source createdAt
    columns { name type nullable position sensitivity access piiKind distinctEstimate } }`;
const DATASETS = `query($first: Int) { datasets(first: $first) {
  edges { cursor node { ${DATASET_FIELDS} } }
  pageInfo { endCursor hasNextPage hasPreviousPage startCursor } } }`;
const DATASET = `query($id: ID!) { dataset(id: $id) { ${DATASET_FIELDS} } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'rest');
  ids.named = (await loadCustomers(server, owner.token, 'customers')).datasetId;
  ids.unnamed = (await loadCustomers(server, owner.token, 'other customers')).datasetId;
  const stranger = await signUpOwner(server, 'stranger');
  ids.foreign = (await loadCustomers(server, stranger.token, 'foreign')).datasetId;
  const apiKey = await createApiKey(server, owner.token, 'ANALYST');
  key = apiKey.secret;
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId: ids.named,
        apiKeyId: apiKey.id,
        rowFilter: { column: 'region', eq: 'north' },
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
}, 120_000);
afterAll(() => server?.close());

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3 and lists exactly the curated operations', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, any>;
    // The validator dereferences in place: give it its own copy.
    const validated = (await SwaggerParser.validate(structuredClone(document) as never)) as any;
    expect(validated.openapi).toMatch(/^3\./);
    expect(document.servers).toEqual([{ url: '/api/v1' }]);
    const operations = Object.entries(document.paths as Record<string, object>).flatMap(
      ([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /datasets',
        'GET /datasets/{id}',
        'POST /datasets/{datasetId}/query',
        'GET /models',
        'GET /models/{id}',
        'POST /models/{modelId}/predict',
        'GET /drift/alerts',
      ].sort(),
    );
    expect(document.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    // Derived from the schema: a query's body is GraphQL's input type.
    const query = document.paths['/datasets/{datasetId}/query'].post;
    expect(JSON.stringify(query.requestBody)).toContain('DatasetQueryInput');
  });

  it('is rendered by a reference page whose every asset is served here', async () => {
    const page = await fetch(`${server.url}/api/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith('/api/docs/'), ref).toBe(true);
      const asset = await fetch(`${server.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      expect((await asset.text()).length, ref).toBeGreaterThan(0);
    }
    expect(html).not.toMatch(/https?:\/\//);
    const init = await (await fetch(`${server.url}/api/docs/init.js`)).text();
    expect(init).toContain('"/openapi.json"');
    expect((await fetch(`${server.url}/api/docs/package.json`)).status).toBe(404);
  });
});

describe('REST answers what GraphQL answers', () => {
  it('GET /datasets and GET /datasets/{id}', async () => {
    const list = await rest('GET', '/datasets?first=10', owner.token);
    expect(list.status).toBe(200);
    const graphql = await server.gql(DATASETS, { first: 10 }, owner.token);
    expect(list.body).toEqual(graphql.data!.datasets);
    expect(list.body.edges).toHaveLength(2);

    const one = await rest('GET', `/datasets/${encodeURIComponent(ids.named)}`, owner.token);
    expect(one.status).toBe(200);
    const graphqlOne = await server.gql(DATASET, { id: ids.named }, owner.token);
    expect(one.body).toEqual(graphqlOne.data!.dataset);
    expect(one.body.currentVersion.rowCount).toBe(40);
  });

  it('POST /datasets/{id}/query: a grouped aggregate', async () => {
    const input = {
      groupBy: [{ column: 'region' }],
      aggregates: [{ function: 'COUNT' }, { function: 'SUM', column: 'spend', as: 'total' }],
      orderBy: [{ column: 'region' }],
    };
    const answer = await rest(
      'POST',
      `/datasets/${encodeURIComponent(ids.named)}/query`,
      owner.token,
      { input, first: 10 },
    );
    expect(answer.status, answer.text).toBe(200);
    const graphql = await server.gql(QUERY, { id: ids.named, input, first: 10 }, owner.token);
    const { __typename, ...expected } = graphql.data!.datasetQuery;
    expect(__typename).toBe('QueryResult');
    expect(answer.body).toEqual(expected);
    // Independent of both: the fixture's own counts (north 13, the others 9).
    expect(answer.body.rows.map((r: any) => [r.region, r.count])).toEqual([
      ['east', 9],
      ['north', 13],
      ['south', 9],
      ['west', 9],
    ]);
  });

  it('GET /models, GET /drift/alerts', async () => {
    const models = await rest('GET', '/models', owner.token);
    expect(models.status).toBe(200);
    const graphql = await server.gql(
      '{ models { edges { node { id } } pageInfo { hasNextPage } } }',
      {},
      owner.token,
    );
    expect(models.body.edges).toEqual(graphql.data!.models.edges);
    expect(models.body.pageInfo.hasNextPage).toBe(graphql.data!.models.pageInfo.hasNextPage);
    const alerts = await rest('GET', '/drift/alerts', owner.token);
    expect(alerts.status).toBe(200);
    const graphqlAlerts = await server.gql('{ driftAlerts { id } }', {}, owner.token);
    expect(alerts.body).toEqual(graphqlAlerts.data!.driftAlerts);
  });
});

describe("an attacker's calls", () => {
  it('without a credential, or with a bad one: 401 with a code and a message', async () => {
    for (const auth of [null, 'pk_not-a-real-key', 'not.a.jwt']) {
      for (const [method, path, body] of [
        ['GET', '/datasets', undefined],
        ['GET', `/datasets/${encodeURIComponent(ids.named)}`, undefined],
        ['POST', `/datasets/${encodeURIComponent(ids.named)}/query`, { input: {} }],
      ] as const) {
        const answer = await rest(method, path, auth, body);
        expect(answer.status, `${auth} ${path}`).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer');
        expect(answer.body.error.code).toBe('UNAUTHENTICATED');
        expect(answer.body.error.message).toEqual(expect.any(String));
        expect(answer.text).not.toContain('@example.com');
      }
    }
  });

  it("a key sees only the dataset a policy names: not its org's others, not another org's", async () => {
    const list = await rest('GET', '/datasets', key);
    expect(list.body.edges.map((e: any) => e.node.id)).toEqual([ids.named]);
    for (const id of [ids.unnamed, ids.foreign]) {
      const one = await rest('GET', `/datasets/${encodeURIComponent(id)}`, key);
      expect(one.status).toBe(404);
      expect(one.body.error.code).toBe('NOT_FOUND');
      const rows = await rest('POST', `/datasets/${encodeURIComponent(id)}/query`, key, {
        input: {},
      });
      expect(rows.status).toBe(404);
      expect(rows.body).toEqual({
        error: { code: 'NOT_FOUND', message: expect.any(String), entity: expect.any(String) },
      });
      expect(rows.text).not.toContain('@example.com');
    }
  });

  it('masked columns stay masked and the row policy applies, as over GraphQL', async () => {
    const path = `/datasets/${encodeURIComponent(ids.named)}/query`;
    const rows = await rest('POST', path, key, { input: {}, first: 100 });
    expect(rows.status, rows.text).toBe(200);
    expect(rows.body.totalCount).toBe(13);
    expect(rows.body.rows.every((r: any) => r.region === 'north')).toBe(true);
    expect(rows.body.rows.every((r: any) => r.email === '***' && r.name === '***')).toBe(true);
    for (const email of emails) expect(rows.text).not.toContain(email);
    const graphql = await server.gql(QUERY, { id: ids.named, input: {}, first: 100 }, key);
    const { __typename, ...expected } = graphql.data!.datasetQuery;
    expect(rows.body).toEqual(expected);

    // Probing the masked column by filter, order or group is refused with GraphQL's code.
    for (const input of [
      { where: { column: 'email', eq: emails[0] } },
      { orderBy: [{ column: 'email' }] },
      { groupBy: [{ column: 'email' }], aggregates: [{ function: 'COUNT' }] },
    ]) {
      const probe = await rest('POST', path, key, { input });
      const viaGraphql = await server.gql(QUERY, { id: ids.named, input }, key);
      expect(probe.status, probe.text).toBe(403);
      expect(probe.body.error.code).toBe(viaGraphql.errors?.[0]?.extensions?.code);
      expect(probe.body.error.message).toBe(viaGraphql.errors?.[0]?.message);
      for (const email of emails) expect(probe.text).not.toContain(email);
    }
  });
});

describe('typed errors', () => {
  it('bad input is 400 naming what was wrong; an unknown route is 404; no stack traces', async () => {
    const path = `/datasets/${encodeURIComponent(ids.named)}/query`;
    const unknownColumn = await rest('POST', path, owner.token, {
      input: { where: { column: 'nope', eq: 1 } },
    });
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.body.error.code).toBe('BAD_USER_INPUT');
    expect(unknownColumn.body.error.message).toContain('nope');

    const badJson = await rest('POST', path, owner.token, '{ not json');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('BAD_USER_INPUT');

    const badType = await rest('POST', path, owner.token, { input: { where: 'everything' } });
    expect(badType.status, badType.text).toBe(400);
    expect(badType.body.error.code).toBe('BAD_USER_INPUT');

    const missing = await rest('POST', path, owner.token, {});
    expect(missing.status, missing.text).toBe(400);
    expect(missing.body.error.code).toBe('BAD_USER_INPUT');

    const badId = await rest('GET', '/datasets/not-an-id', owner.token);
    expect(badId.status, badId.text).toBe(400);
    expect(badId.body.error.code).toBe('BAD_USER_INPUT');

    const modelMissing = await rest(
      'POST',
      `/models/${encodeURIComponent(ids.named)}/predict`,
      owner.token,
      {
        rows: [{ spend: 1 }],
      },
    );
    expect([400, 404], modelMissing.text).toContain(modelMissing.status);

    for (const [method, route] of [
      ['GET', '/nothing'],
      ['POST', '/webhook'],
      ['DELETE', '/datasets'],
      ['GET', '/datasets/x/y/z'],
    ] as const) {
      const response = await fetch(`${server.url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(response.status, route).toBe(404);
      expect(((await response.json()) as any).error.code).toBe('NOT_FOUND');
    }
    for (const answer of [unknownColumn, badJson, badType, missing, badId, modelMissing])
      expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
  });
});

const PREDICT =
  'query($rows: [JSON!]!) { predict(modelId: "any-model", rows: $rows) { __typename } }';
const VIEWER = '{ viewer { id } }';

describe('limits and rate limits', () => {
  let limited: TestServer;
  let limitedKey: string;
  beforeAll(async () => {
    // Trusted documents on: API keys may run only the listed GraphQL documents, and the REST
    // routes (server-defined documents).
    const manifest = join(mkdtempSync(join(tmpdir(), 'peso-rest-')), 'trusted.json');
    const hash = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
    writeFileSync(manifest, JSON.stringify({ [hash(PREDICT)]: PREDICT, [hash(VIEWER)]: VIEWER }));
    limited = await startTestServer({
      PESO_RATE_LIMIT_WINDOW_SECONDS: '60',
      PESO_RATE_LIMIT_PER_KEY: '3',
      PESO_MAX_LIST_LENGTH: '5',
      PESO_TRUSTED_DOCUMENTS: manifest,
    });
    const who = await signUpOwner(limited, 'limited');
    limitedKey = (await createApiKey(limited, who.token, 'ANALYST')).secret;
  }, 60_000);
  afterAll(() => limited?.close());

  it('the document limits of GraphQL apply: a list over PESO_MAX_LIST_LENGTH is refused', async () => {
    const rows = Array.from({ length: 6 }, (_, i) => ({ spend: i }));
    const answer = await rest('POST', '/models/any-model/predict', limitedKey, { rows }, limited);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body.error.code).toBe('LIMIT_EXCEEDED');
    const graphql = await limited.gql(PREDICT, { rows }, limitedKey);
    expect(graphql.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(answer.body.error.message).toBe(graphql.errors?.[0]?.message);
  });

  it("a key's REST calls count against its rate limit: 429 with Retry-After", async () => {
    const answers = [];
    for (let i = 0; i < 8; i++)
      answers.push(await rest('GET', '/datasets', limitedKey, undefined, limited));
    const passed = answers.filter((a) => a.status === 200).length;
    // Fixed windows: 8 calls span at most two, so at most 2 × 3 pass.
    // REST routes are server-defined documents: open to the key although trusted documents are
    // on, while a GraphQL document the manifest does not list is not.
    expect(passed).toBeGreaterThanOrEqual(1);
    const untrusted = await limited.gql('{ datasets { edges { node { id } } } }', {}, limitedKey);
    expect(untrusted.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
    expect(passed).toBeLessThanOrEqual(6);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.error.retryAfter).toBe(Number(refused.headers.get('retry-after')));
    // The same counter as GraphQL: the key is limited there too.
    const graphql = await limited.gql(VIEWER, {}, limitedKey);
    expect(graphql.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});
