import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';

/**
 * Hostile input is refused at the edge with BAD_USER_INPUT naming the field, on every transport:
 * NUL characters (which PostgreSQL text and jsonb cannot hold), and values nested deeper than
 * PESO_MAX_INPUT_DEPTH — including a 10,000-deep variable, which must never reach graphql-js's
 * recursive coercion.
 */
let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;
let membershipId: string;

const NUL = 'a\u0000b';

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server);
  const created = await server.gql(
    `mutation { createDataset(input: { name: "scores" }) { ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  datasetId = created.data!.createDataset.id;
  const uploaded = await server.upload(
    `mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) {
      __typename ... on Error { message } } }`,
    { d: datasetId },
    { name: 'scores.csv', content: 'name,score\nann,1\nbob,2\ncid,3\n' },
    owner.token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename).toBe('DatasetVersion');
  membershipId = (await inviteMember(server, owner.token, 'VIEWER')).membershipId;
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** POSTs a body written by hand: 10,000-deep JSON is more than JSON.stringify can write here. */
async function post(body: string, auth?: string) {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as any };
}

const deepList = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const deepNot = (depth: number) =>
  `${'{"not":'.repeat(depth)}{"column":"score","eq":1}${'}'.repeat(depth)}`;

function expectRefused(
  res: { status: number; errors?: Array<{ message: string; extensions?: Record<string, any> }> },
  field: string,
) {
  expect(res.status).toBe(400);
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(res.errors?.[0]?.extensions?.field).toBe(field);
  expect(JSON.stringify(res)).not.toContain('Unexpected error');
}

describe('NUL characters in string inputs (HTTP)', () => {
  const cases: Array<[string, string, () => Record<string, unknown>, string, boolean]> = [
    [
      'dataset name',
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename } }`,
      () => ({ input: { name: NUL } }),
      'input.name',
      true,
    ],
    [
      'dataset description',
      `mutation($id: ID!, $input: UpdateDatasetInput!) { updateDataset(id: $id, input: $input) { __typename } }`,
      () => ({ id: datasetId, input: { description: NUL } }),
      'input.description',
      true,
    ],
    [
      'dataset tags',
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename } }`,
      () => ({ input: { name: 'tagged', tags: ['ok', NUL] } }),
      'input.tags.1',
      true,
    ],
    [
      'saved-query name',
      `mutation($input: SaveQueryInput!) { saveQuery(input: $input) { __typename } }`,
      () => ({ input: { datasetId, name: NUL, query: {} } }),
      'input.name',
      true,
    ],
    [
      'saved-query filter',
      `mutation($input: SaveQueryInput!) { saveQuery(input: $input) { __typename } }`,
      () => ({
        input: { datasetId, name: 'q', query: { where: { column: 'name', eq: NUL } } },
      }),
      'input.query.where.eq',
      true,
    ],
    [
      'member attribute value',
      `mutation($m: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $m, attributes: $a) { __typename } }`,
      () => ({ m: membershipId, a: { region: NUL } }),
      'a.region',
      true,
    ],
    [
      'member attribute name',
      `mutation($m: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $m, attributes: $a) { __typename } }`,
      () => ({ m: membershipId, a: { [NUL]: 'eu' } }),
      'a.<key>',
      true,
    ],
    [
      'API key name',
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }`,
      () => ({ input: { name: NUL, role: 'VIEWER' } }),
      'input.name',
      true,
    ],
    [
      'login email',
      `mutation($input: LoginInput!) { login(input: $input) { __typename } }`,
      () => ({ input: { email: NUL, password: 'whatever whatever' } }),
      'input.email',
      false,
    ],
    [
      'sign-up name',
      `mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }`,
      () => ({
        input: {
          email: 'nul@example.com',
          password: 'correct horse battery',
          name: NUL,
          organizationName: 'o',
        },
      }),
      'input.name',
      false,
    ],
    [
      'model name',
      `mutation($input: TrainModelInput!) { trainModel(input: $input) { __typename } }`,
      () => ({ input: { name: NUL, datasetId, target: 'score' } }),
      'input.name',
      true,
    ],
    [
      'upload filename',
      `mutation($d: ID!, $f: String!) { createUploadUrl(datasetId: $d, filename: $f) { __typename } }`,
      () => ({ d: datasetId, f: NUL }),
      'f',
      true,
    ],
  ];

  for (const [label, query, variables, field, authed] of cases) {
    it(`refuses a NUL in the ${label} with BAD_USER_INPUT naming ${field}`, async () => {
      const res = await server.gql(query, variables(), authed ? owner.token : null);
      expectRefused(res, field);
    });
  }

  it('refuses a lone surrogate (not Unicode) the same way', async () => {
    const res = await server.gql(
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { __typename } }`,
      { input: { name: 'ok', tags: ['\udfff\ud800'] } },
      owner.token,
    );
    expectRefused(res, 'input.tags.0');
  });

  it('refuses a NUL written inline in the document, naming the argument', async () => {
    const res = await server.gql(
      `mutation { createDataset(input: { name: "a\\u0000b" }) { __typename } }`,
      {},
      owner.token,
    );
    expectRefused(res, 'createDataset.input.name');
  });

  it('refuses a NUL in the name of a multipart upload file', async () => {
    const res = await server.upload(
      `mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) { __typename } }`,
      { d: datasetId },
      { name: 'evil\u0000.csv', content: 'name,score\nx,1\n' },
      owner.token,
    );
    // Some HTTP stacks drop or replace a NUL in a multipart filename; none may end in a 500.
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res)).not.toContain('Unexpected error');
  });
});

describe('deep values (HTTP)', () => {
  it('refuses a 10,000-deep JSON variable with 400 BAD_USER_INPUT', async () => {
    const res = await post(
      `{"query":"mutation($m: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $m, attributes: $a) { __typename } }","variables":{"m":"${membershipId}","a":{"x":${deepList(10_000)}}}}`,
      owner.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].extensions.field).toMatch(/^a\.x(\.0)+$/);
  });

  it('refuses a 10,000-deep filter in a query', async () => {
    const res = await post(
      `{"query":"query($d: ID!, $w: Filter) { datasetQuery(datasetId: $d, input: { where: $w }) { __typename } }","variables":{"d":"${datasetId}","w":${deepNot(10_000)}}}`,
      owner.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].extensions.field).toMatch(/^w(\.not)+$/);
  });

  it('refuses deep JSON in prediction rows', async () => {
    const res = await post(
      `{"query":"query($m: ID!, $rows: [JSON!]!) { predict(modelId: $m, rows: $rows) { __typename } }","variables":{"m":"${datasetId}","rows":[{"score":${deepList(5000)}}]}}`,
      owner.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].extensions.field).toMatch(/^rows\.0\.score(\.0)+$/);
  });

  it('refuses a deep value written inline, and a document too deep to parse', async () => {
    const inline = await server.gql(
      `query { datasetQuery(datasetId: "${datasetId}", input: { where: ${'{ not: '.repeat(40)}{ column: "score", eq: 1 }${' }'.repeat(40)} }) { __typename } }`,
      {},
      owner.token,
    );
    expect(inline.status).toBe(400);
    expect(inline.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(inline.errors?.[0]?.extensions?.field).toMatch(/^datasetQuery\.input\.where(\.not)+$/);

    const unparsable = await post(
      JSON.stringify({ query: `{ __typename(x: ${deepList(20_000)}) }` }),
      owner.token,
    );
    expect(unparsable.status).toBe(400);
    expect(unparsable.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('accepts nesting within the limit', async () => {
    const res = await server.gql(
      `query($d: ID!, $w: Filter) { datasetQuery(datasetId: $d, input: { where: $w }) {
        ... on QueryResult { totalCount } } }`,
      { d: datasetId, w: JSON.parse(deepNot(4)) },
      owner.token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.datasetQuery.totalCount).toBe(1);
  });

  it('keeps answering after all of it', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe('SSE and WebSocket', () => {
  const INGESTION = `subscription($v: ID) { datasetIngestion(versionId: $v) { status } }`;

  it('refuses a NUL variable of a subscription over SSE', async () => {
    const stream = sseSubscribe(server.graphqlUrl, INGESTION, { v: NUL }, owner.token);
    await stream.done;
    expect(stream.events[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stream.events[0]?.errors?.[0]?.extensions?.field).toBe('v');
  });

  it('refuses a 10,000-deep variable of a subscription over SSE', async () => {
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: `{"query":"subscription($v: ID) { datasetIngestion(versionId: $v) { status } }","variables":{"v":${deepList(10_000)}}}`,
    });
    const text = await response.text();
    expect(response.status).toBeLessThan(500);
    expect(text).toContain('BAD_USER_INPUT');
    expect(text).not.toContain('Unexpected error');
  });

  it('refuses a NUL variable over WebSocket', async () => {
    const client = server.ws(owner.token);
    const sub = subscribe(client, INGESTION, { v: NUL });
    await sub.done;
    const errors = (sub.events[0]?.errors ?? sub.errors[0]) as any[];
    expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(errors[0].extensions.field).toBe('v');
  });

  it('refuses a 10,000-deep variable over WebSocket and keeps the socket open', async () => {
    const socket = new WebSocket(server.graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const messages: any[] = [];
    /** The next message of `type`, skipping others (such as the `complete` after an error). */
    const next = (type: string) =>
      new Promise<any>((resolve) => {
        const poll = () => {
          const at = messages.findIndex((m) => m.type === type);
          if (at >= 0) resolve(messages.splice(at, 1)[0]);
          else setTimeout(poll, 10);
        };
        poll();
      });
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${owner.token}` },
      }),
    );
    await next('connection_ack');
    socket.send(
      `{"id":"1","type":"subscribe","payload":{"query":"query($m: ID!, $x: JSON!) { predict(modelId: $m, rows: [$x]) { __typename } }","variables":{"m":"${datasetId}","x":${deepList(10_000)}}}}`,
    );
    const reply = await next('next');
    const errors = reply.payload.errors;
    expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
    socket.send(
      JSON.stringify({ id: '2', type: 'subscribe', payload: { query: '{ __typename }' } }),
    );
    const answer = await next('next');
    expect(answer).toMatchObject({
      id: '2',
      type: 'next',
      payload: { data: { __typename: 'Query' } },
    });
    socket.close();
  });
});
