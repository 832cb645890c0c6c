/**
 * An attacker's documents against the limits: size, tokens, aliases, directives, depth, lists
 * (literal and in variables), and the cost budget that counts the rows a dataset read may scan —
 * refused before anything runs, with LIMIT_EXCEEDED naming the limit, over HTTP, SSE and
 * WebSocket; an over-budget subscription is refused at subscribe time, never opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countOf,
  type GraphQLResponse,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
const datasets = { large: '', small: '' };

const LIMITS = {
  PESO_MAX_DOCUMENT_BYTES: '3000',
  PESO_MAX_TOKENS: '400',
  PESO_MAX_ALIASES: '4',
  PESO_MAX_DIRECTIVES: '3',
  PESO_MAX_DEPTH: '6',
  PESO_MAX_LIST_LENGTH: '10',
  PESO_MAX_COST: '60',
  PESO_COST_ROWS_PER_POINT: '10',
};

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;

async function datasetWithRows(name: string, rows: number) {
  const created = await server.gql(CREATE, { input: { name } }, owner.token);
  const id = created.data!.createDataset.id as string;
  const csv = `n\n${Array.from({ length: rows }, (_, i) => i).join('\n')}\n`;
  const up = await server.upload(
    UPLOAD,
    { datasetId: id },
    { name: 'n.csv', content: csv },
    owner.token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  return id;
}

/** `count` aliases of one aggregate over a dataset. */
const aliasedAggregates = (count: number) =>
  `query($id: ID!) { ${Array.from(
    { length: count },
    (_, i) =>
      `a${i}: datasetQuery(datasetId: $id, input: { aggregates: [{ function: COUNT }] }) { __typename }`,
  ).join(' ')} }`;

/** Gated reads so far: each read that runs leaves an audit event. */
const audited = () => countOf(server, 'select count(*)::int as n from audit_events');

function expectLimit(res: GraphQLResponse, limit: string) {
  expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('LIMIT_EXCEEDED');
  expect(res.errors?.[0]?.extensions?.limit).toBe(limit);
  expect(res.data ?? null).toBeNull();
}

beforeAll(async () => {
  server = await startTestServer(LIMITS);
  owner = await signUpOwner(server, 'limits');
  datasets.large = await datasetWithRows('large', 200);
  datasets.small = await datasetWithRows('small', 5);
});

afterAll(async () => {
  await server?.close();
});

describe('document limits over HTTP', () => {
  it('refuses a document larger than PESO_MAX_DOCUMENT_BYTES', async () => {
    const res = await server.gql(`{ viewer { id } } # ${'x'.repeat(3000)}`, {}, owner.token);
    expect(res.status).toBe(400);
    expectLimit(res, 'documentBytes');
  });

  it('refuses a document with more tokens than PESO_MAX_TOKENS', async () => {
    const res = await server.gql(
      `{ viewer { ${Array.from({ length: 500 }, () => 'id').join(' ')} } }`,
      {},
      owner.token,
    );
    expectLimit(res, 'tokens');
  });

  it('refuses more aliases than PESO_MAX_ALIASES, before any of them runs', async () => {
    const before = await audited();
    const res = await server.gql(aliasedAggregates(5), { id: datasets.small }, owner.token);
    expectLimit(res, 'aliases');
    expect(await audited()).toBe(before);
    const ok = await server.gql(aliasedAggregates(4), { id: datasets.small }, owner.token);
    expect(ok.errors, JSON.stringify(ok)).toBeUndefined();
  });

  it('refuses more directives than PESO_MAX_DIRECTIVES', async () => {
    const res = await server.gql(
      '{ viewer { id @include(if: true) @skip(if: false) role @include(if: true) kind @skip(if: false) } }',
      {},
      owner.token,
    );
    expectLimit(res, 'directives');
  });

  it('refuses nesting deeper than PESO_MAX_DEPTH', async () => {
    const res = await server.gql(
      '{ viewer { organization { datasets { edges { node { versions { edges { node { id } } } } } } } } }',
      {},
      owner.token,
    );
    expectLimit(res, 'depth');
  });

  it('refuses a list literal or a list in variables longer than PESO_MAX_LIST_LENGTH', async () => {
    const ids = Array.from({ length: 11 }, () => datasets.small);
    const literal = await server.gql(
      `{ nodes(ids: [${ids.map((id) => `"${id}"`).join(', ')}]) { id } }`,
      {},
      owner.token,
    );
    expectLimit(literal, 'listLength');
    const variable = await server.gql(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids },
      owner.token,
    );
    expectLimit(variable, 'listLength');
    expect(variable.errors![0]!.message).toContain('ids');
    // Lists nested in input objects too: 11 aggregates.
    const nested = await server.gql(
      'query($id: ID!, $input: DatasetQueryInput!) { datasetQuery(datasetId: $id, input: $input) { __typename } }',
      {
        id: datasets.small,
        input: { aggregates: Array.from({ length: 11 }, () => ({ function: 'COUNT' })) },
      },
      owner.token,
    );
    expectLimit(nested, 'listLength');
    // `in` lists are bounded by the query language itself (10,000 values, BAD_USER_INPUT).
    const inList = await server.gql(
      'query($id: ID!, $input: DatasetQueryInput!) { datasetQuery(datasetId: $id, input: $input) { __typename ... on Error { code } } }',
      {
        id: datasets.small,
        input: { where: { column: 'n', in: Array.from({ length: 10_001 }, (_, i) => i) } },
      },
      owner.token,
    );
    expect(inList.data?.datasetQuery, JSON.stringify(inList)).toEqual({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    const ten = await server.gql(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: ids.slice(1) },
      owner.token,
    );
    expect(ten.errors, JSON.stringify(ten)).toBeUndefined();
  });
});

describe('the cost budget counts the rows a read may scan', () => {
  it('refuses reads of a large dataset that the same reads of a small one pass', async () => {
    const small = await server.gql(aliasedAggregates(3), { id: datasets.small }, owner.token);
    expect(small.errors, JSON.stringify(small)).toBeUndefined();
    const before = await audited();
    const large = await server.gql(aliasedAggregates(3), { id: datasets.large }, owner.token);
    expectLimit(large, 'cost');
    expect(large.errors![0]!.extensions!.cost).toBeGreaterThan(60);
    // Refused before execution: not one of the three reads ran (each would be audited).
    expect(await audited()).toBe(before);
  });

  it('prices each operation of one document by itself, every time it runs', async () => {
    const document = `query Small { viewer { id } }
      query Big { datasets { edges { node { name currentVersion { columns { name type } } } } } }`;
    const run = async (operationName: string) => {
      const res = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ query: document, operationName }),
      });
      return (await res.json()) as GraphQLResponse;
    };
    for (let i = 0; i < 2; i++) {
      const small = await run('Small');
      expect(small.errors, JSON.stringify(small)).toBeUndefined();
      expectLimit(await run('Big'), 'cost');
    }
  });

  it('prices a dataset the caller cannot see at nothing (its size is not revealed)', async () => {
    const stranger = await signUpOwner(server, 'stranger');
    const res = await server.gql(aliasedAggregates(3), { id: datasets.large }, stranger.token);
    expect(res.errors ?? [], JSON.stringify(res)).toEqual([]);
    expect(res.data!.a0.__typename).toBe('NotFoundError');
  });
});

describe('the same limits over WebSocket and SSE', () => {
  it('refuses an over-limit query over WebSocket with the same error', async () => {
    const client = server.ws(owner.token);
    const aliases = subscribe(client, aliasedAggregates(5), { id: datasets.small });
    await aliases.done;
    expect(aliases.events).toEqual([]);
    expect(JSON.stringify(aliases.errors)).toContain('LIMIT_EXCEEDED');
    const cost = subscribe(client, aliasedAggregates(3), { id: datasets.large });
    await cost.done;
    expect(JSON.stringify([cost.events, cost.errors])).toContain('"limit":"cost"');
    const lists = subscribe(client, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', {
      ids: Array.from({ length: 11 }, () => datasets.small),
    });
    await lists.done;
    expect(JSON.stringify([lists.events, lists.errors])).toContain('"limit":"listLength"');
  });

  it('refuses an over-limit subscription at subscribe time over WebSocket and SSE', async () => {
    const aliased = `subscription { heartbeat(intervalSeconds: 1) { a: at b: at c: at d: at e: at } }`;
    const client = server.ws(owner.token);
    const ws = subscribe(client, aliased);
    await ws.done;
    expect(ws.events).toEqual([]);
    expect(JSON.stringify(ws.errors)).toContain('LIMIT_EXCEEDED');

    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: JSON.stringify({ query: aliased }),
    });
    // The whole answer arrives and the stream ends: nothing stays open to send an event.
    const body = await response.text();
    expect(body).toContain('LIMIT_EXCEEDED');
    expect(body).not.toContain('"at"');
  });
});

describe('an over-budget subscription', () => {
  let tight: TestServer;
  let token: string;
  beforeAll(async () => {
    tight = await startTestServer({ PESO_MAX_COST: '10' });
    token = (await signUpOwner(tight, 'tight')).token;
  });
  afterAll(async () => {
    await tight?.close();
  });

  it('gets one error and completes over WebSocket and SSE, never one error per event', async () => {
    const query = `subscription { heartbeat(intervalSeconds: 1) { ${Array.from({ length: 12 }, (_, i) => `t${i}: at`).join(' ')} } }`;
    const ws = subscribe(tight.ws(token), query);
    await ws.done;
    const wsAll = JSON.stringify([ws.events, ws.errors]);
    expect(wsAll).toContain('"limit":"cost"');
    expect(ws.events.length + ws.errors.length).toBe(1);

    const response = await fetch(tight.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query }),
    });
    const body = await response.text();
    expect(body.match(/LIMIT_EXCEEDED/g)?.length).toBe(1);
    expect(body).not.toContain('"t0"');
  });
});
