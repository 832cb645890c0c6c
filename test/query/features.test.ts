import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import { type OpenAiServer, startOpenAiServer } from '../helpers/openai-server';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
} from '../helpers/server';
import { customers, loadCustomers, QUERY, SET_POLICY } from './fixtures';

let server: TestServer;
let llm: OpenAiServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let datasetId: string;
const all = customers();
const north = all.filter((c) => c.region === 'north');
/** What the fake model answers, by a word in the question. */
const plans: Record<string, unknown> = {
  south: {
    select: ['id', 'region', 'email'],
    where: [{ column: 'region', operator: 'eq', value: 'south', values: null }],
    groupBy: null,
    aggregates: null,
    orderBy: [{ column: 'id', direction: 'ASC' }],
    limit: 50,
    explanation: 'Customers in the south region.',
  },
  spend: {
    select: null,
    where: null,
    groupBy: [{ column: 'region', timeBucket: null }],
    aggregates: [{ function: 'SUM', column: 'spend', percentile: null }],
    orderBy: [{ column: 'sum_spend', direction: 'DESC' }],
    limit: null,
    explanation: 'Total spend per region, highest first.',
  },
  bogus: {
    select: ['no_such_column'],
    where: null,
    groupBy: null,
    aggregates: null,
    orderBy: null,
    limit: null,
    explanation: 'Nonsense.',
  },
};

beforeAll(async () => {
  llm = await startOpenAiServer((request) => {
    const question = (request.messages.at(-1)?.content ?? '').split('Question:').pop() ?? '';
    const key = Object.keys(plans).find((k) => question.includes(k));
    return JSON.stringify(plans[key ?? 'south']);
  });
  server = await startTestServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.baseUrl });
  owner = await signUpOwner(server, 'features');
  ({ datasetId } = await loadCustomers(server, owner.token));
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  await server.gql(
    'mutation($id: ID!, $a: JSONObject!) { setMemberAttributes(membershipId: $id, attributes: $a) { __typename } }',
    { id: viewer.membershipId, a: { region: 'north' } },
    owner.token,
  );
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId,
        role: 'VIEWER',
        rowFilter: { column: 'region', eq: '$viewer.attributes.region' },
        columnRules: [{ column: 'notes', rule: 'HIDE' }],
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
});
afterAll(async () => {
  await server?.close();
  await llm?.close();
});

const EXPORT = `mutation($id: ID!, $input: DatasetQueryInput!, $format: ExportFormat!) {
  exportQuery(datasetId: $id, input: $input, format: $format) {
    __typename ... on ExportLink { url expiresAt version { number } } ... on Error { code message } } }`;

async function exportUrl(token: string, input: object, format = 'CSV') {
  const res = await server.gql(EXPORT, { id: datasetId, input, format }, token);
  expect(res.data?.exportQuery.__typename, JSON.stringify(res)).toBe('ExportLink');
  return res.data!.exportQuery.url as string;
}

describe('exportQuery', () => {
  it('streams CSV and NDJSON with the row policy and masking applied', async () => {
    const url = await exportUrl(viewer.token, { orderBy: [{ column: 'id' }] });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('id,name,email,region,spend,signup');
    expect(lines.length - 1).toBe(north.length);
    for (const [i, line] of lines.slice(1).entries()) {
      const c = north[i]!;
      expect(line).toBe(`${c.id},***,***,north,${c.spend},${c.signup}`);
    }

    const nd = await fetch(await exportUrl(viewer.token, { select: ['id', 'email'] }, 'NDJSON'));
    const rows = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(north.length);
    expect(rows.every((r) => r.email === '***')).toBe(true);

    const log = await server.gql(
      `{ auditEvents(filter: { action: "EXPORT" }) { edges { node { rowCount columnsMasked user { id } } } } }`,
      {},
      owner.token,
    );
    expect(log.data?.auditEvents.edges[0].node).toMatchObject({
      rowCount: north.length,
      columnsMasked: ['email'],
      user: { id: viewer.userId },
    });
  });

  it('refuses a forbidden query up front, a tampered link, and a revoked caller', async () => {
    const refused = await server.gql(
      EXPORT,
      { id: datasetId, input: { where: { column: 'email', contains: '@' } }, format: 'CSV' },
      viewer.token,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const url = await exportUrl(owner.token, {});
    const tampered = await fetch(`${url.slice(0, -3)}abc`);
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as any).error.code).toBe('UNAUTHENTICATED');

    const key = await createApiKey(server, owner.token, 'ANALYST');
    await server.gql(SET_POLICY, { input: { datasetId, apiKeyId: key.id } }, owner.token);
    const keyUrl = await exportUrl(key.secret, {});
    expect((await fetch(keyUrl)).status).toBe(200);
    await server.gql(
      'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }',
      { id: key.id },
      owner.token,
    );
    const revoked = await fetch(keyUrl);
    expect(revoked.status).toBe(401);
  });
});

const MATERIALIZE = `mutation($id: ID!, $input: DatasetQueryInput!, $name: String, $target: ID) {
  createDatasetVersionFromQuery(datasetId: $id, input: $input, newDatasetName: $name, targetDatasetId: $target) {
    __typename ... on DatasetVersion { id number rowCount columns { name type sensitivity } }
    ... on Error { code message } } }`;

describe('createDatasetVersionFromQuery', () => {
  it('writes what the caller sees, masked columns masked, only policy rows', async () => {
    const analyst = await inviteMember(server, owner.token, 'ANALYST');
    await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: analyst.userId,
          rowFilter: { column: 'region', in: ['east', 'west'] },
        },
      },
      owner.token,
    );
    const res = await server.gql(
      MATERIALIZE,
      { id: datasetId, input: { select: ['id', 'email', 'spend', 'signup'] }, name: 'east-west' },
      analyst.token,
    );
    const version = res.data?.createDatasetVersionFromQuery;
    const expected = all.filter((c) => c.region === 'east' || c.region === 'west');
    expect(version, JSON.stringify(res)).toMatchObject({ number: 1, rowCount: expected.length });
    expect(version.columns).toEqual([
      { name: 'id', type: 'INTEGER', sensitivity: 'NONE' },
      { name: 'email', type: 'STRING', sensitivity: 'PII' },
      { name: 'spend', type: 'FLOAT', sensitivity: 'NONE' },
      { name: 'signup', type: 'DATE', sensitivity: 'NONE' },
    ]);
    const copy = await server.gql(
      'query($id: ID!) { node(id: $id) { ... on DatasetVersion { id } } }',
      { id: version.id },
      owner.token,
    );
    expect(copy.data?.node?.id).toBe(version.id);
    const list = await server.gql('{ datasets { edges { node { id name } } } }', {}, owner.token);
    const target = list.data!.datasets.edges.find((e: any) => e.node.name === 'east-west').node;
    // Even the owner reads masked values in the copy: the clear values never entered it.
    const rows = await server.gql(
      QUERY,
      { id: target.id, input: { orderBy: [{ column: 'id' }] }, first: 100 },
      owner.token,
    );
    const stored = rows.data?.datasetQuery.rows;
    expect(stored.map((r: any) => r.id)).toEqual(expected.map((c) => c.id));
    expect(stored.every((r: any) => r.email === '***')).toBe(true);
    expect(stored[0].signup).toBe(expected[0]!.signup);
  });

  it('leaves nothing behind when it fails, and refuses a taken name', async () => {
    const before = await query(server.database, 'select count(*)::int as n from datasets');
    const taken = await server.gql(
      MATERIALIZE,
      { id: datasetId, input: {}, name: 'customers' },
      owner.token,
    );
    expect(taken.data?.createDatasetVersionFromQuery.__typename).toBe('ConflictError');
    const bad = await server.gql(
      MATERIALIZE,
      { id: datasetId, input: { select: ['nope'] }, name: 'never' },
      owner.token,
    );
    expect(bad.data?.createDatasetVersionFromQuery.__typename).toBe('InputError');
    const after = await query(server.database, 'select count(*)::int as n from datasets');
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

const SAVE = `mutation($input: SaveQueryInput!) { saveQuery(input: $input) {
  __typename ... on SavedQuery { id name parameters { name type required default } } ... on Error { code message } } }`;
const RUN = `query($id: ID!, $params: JSONObject) { runSavedQuery(id: $id, params: $params) {
  __typename ... on QueryResult { rows totalCount } ... on Error { code message } } }`;

describe('saved queries and history', () => {
  it('runs with typed parameters, through the gate of whoever runs it', async () => {
    const saved = await server.gql(
      SAVE,
      {
        input: {
          datasetId,
          name: 'big spenders',
          query: {
            select: ['id', 'spend'],
            where: { column: 'spend', gte: '$params.min' },
            orderBy: [{ column: 'id' }],
          },
          parameters: [{ name: 'min', type: 'FLOAT', default: 50 }],
        },
      },
      owner.token,
    );
    const id = saved.data?.saveQuery.id;
    expect(saved.data?.saveQuery.parameters, JSON.stringify(saved)).toEqual([
      { name: 'min', type: 'FLOAT', required: true, default: 50 },
    ]);
    const byDefault = await server.gql(RUN, { id }, owner.token);
    expect(byDefault.data?.runSavedQuery.totalCount).toBe(all.filter((c) => c.spend >= 50).length);
    const ninety = await server.gql(RUN, { id, params: { min: 90 } }, owner.token);
    expect(ninety.data?.runSavedQuery.rows.map((r: any) => r.id)).toEqual(
      all.filter((c) => c.spend >= 90).map((c) => c.id),
    );
    const asViewer = await server.gql(RUN, { id, params: { min: 0 } }, viewer.token);
    expect(asViewer.data?.runSavedQuery.totalCount).toBe(north.length);

    const wrong = await server.gql(RUN, { id, params: { min: 'lots' } }, owner.token);
    expect(wrong.data?.runSavedQuery).toMatchObject({ __typename: 'InputError' });
    expect(wrong.data?.runSavedQuery.message).toContain('"min"');
    const unknown = await server.gql(RUN, { id, params: { max: 1 } }, owner.token);
    expect(unknown.data?.runSavedQuery.__typename).toBe('InputError');

    const undeclared = await server.gql(
      SAVE,
      {
        input: {
          datasetId,
          name: 'broken',
          query: { where: { column: 'id', eq: '$params.x' } },
        },
      },
      owner.token,
    );
    expect(undeclared.data?.saveQuery.__typename).toBe('InputError');

    const history = await server.gql(
      '{ queryHistory(first: 3) { kind query rowCount } }',
      {},
      owner.token,
    );
    expect(history.data?.queryHistory[0]).toMatchObject({ kind: 'SAVED_QUERY' });
  });

  it('keeps private queries private', async () => {
    const mine = await server.gql(
      SAVE,
      { input: { datasetId, name: 'mine', query: {}, visibility: 'PRIVATE' } },
      viewer.token,
    );
    const id = mine.data?.saveQuery.id;
    const list = await server.gql('{ savedQueries { name } }', {}, owner.token);
    expect(list.data?.savedQueries.map((q: any) => q.name)).not.toContain('mine');
    const run = await server.gql(RUN, { id }, owner.token);
    expect(run.data?.runSavedQuery.__typename).toBe('NotFoundError');
  });
});

const ASK = `query($id: ID!, $q: String!) { askDataset(datasetId: $id, question: $q) {
  __typename
  ... on AskAnswer { question explanation cached query result { columns { name masked } rows totalCount } }
  ... on Error { code message } } }`;

describe('askDataset', () => {
  it('runs the model’s query through the gate and caches the answer', async () => {
    const before = llm.requests.length;
    const res = await server.gql(ASK, { id: datasetId, q: 'total spend by region?' }, owner.token);
    const answer = res.data?.askDataset;
    expect(answer, JSON.stringify(res)).toMatchObject({
      __typename: 'AskAnswer',
      explanation: 'Total spend per region, highest first.',
      cached: false,
    });
    expect(answer.result.rows).toHaveLength(4);
    expect(answer.query.groupBy).toEqual([{ column: 'region', timeBucket: null }]);
    expect(llm.requests.length).toBe(before + 1);
    const prompt = llm.requests
      .at(-1)!
      .messages.map((m) => m.content)
      .join('\n');
    // Column names and types only: no value of the data reaches the model.
    expect(prompt).toContain('"spend": FLOAT');
    for (const c of all.slice(0, 5)) expect(prompt).not.toContain(c.email);

    const again = await server.gql(
      ASK,
      { id: datasetId, q: 'total spend by region?' },
      owner.token,
    );
    expect(again.data?.askDataset.cached).toBe(true);
    expect(llm.requests.length).toBe(before + 1);
  });

  it('cannot widen a row policy or unmask a column, whatever the model proposes', async () => {
    const res = await server.gql(ASK, { id: datasetId, q: 'customers in the south' }, viewer.token);
    const answer = res.data?.askDataset;
    expect(answer?.__typename, JSON.stringify(res)).toBe('AskAnswer');
    expect(answer.result.rows).toEqual([]);
    const prompt = llm.requests.at(-1)!.messages.at(-1)!.content;
    expect(prompt).not.toContain('notes');
    expect(prompt).toContain('(masked)');

    const bogus = await server.gql(ASK, { id: datasetId, q: 'bogus please' }, owner.token);
    expect(bogus.errors?.[0]?.extensions?.code, JSON.stringify(bogus)).toBe('LLM_BAD_OUTPUT');
  });

  it('says LLM_NOT_CONFIGURED without a key', async () => {
    const bare = await startTestServer();
    try {
      const me = await signUpOwner(bare, 'bare');
      const { datasetId: id } = await loadCustomers(bare, me.token);
      const res = await bare.gql(ASK, { id, q: 'anything' }, me.token);
      expect(res.errors?.[0]?.extensions?.code).toBe('LLM_NOT_CONFIGURED');
    } finally {
      await bare.close();
    }
  });
});

describe('no N+1', () => {
  it('a nested read issues the same number of statements for 2 datasets as for 6', async () => {
    const NESTED = `{ datasets(first: 50) { edges { node { name createdBy { name }
      currentVersion { number createdBy { name } columns { name type } }
      versions { number columns { name } } } } } }`;
    async function statements(count: number) {
      const me = await signUpOwner(server, `n1-${count}`);
      for (let i = 0; i < count; i++) await loadCustomers(server, me.token, `set-${i}`);
      await server.gql(NESTED, {}, me.token);
      // The counter is the whole database handle's: work that the uploads left running (jobs in
      // this process) can only add to it, so the request's own count is the least of three.
      let least = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 3; i++) {
        const before = server.database.stats.statements;
        const res = await server.gql(NESTED, {}, me.token);
        expect(res.data?.datasets.edges).toHaveLength(count);
        least = Math.min(least, server.database.stats.statements - before);
      }
      return least;
    }
    const two = await statements(2);
    const six = await statements(6);
    expect(six).toBe(two);
    expect(two).toBeLessThanOrEqual(8);
  });
});

describe('inputs written as literals in the document', () => {
  it('are stored as JSON like variables are (history, audit, saved queries, policies)', async () => {
    const res = await server.gql(
      `query($id: ID!) { datasetQuery(datasetId: $id, input: { where: { column: "id", eq: 1 }, select: ["id"] }) {
        ... on QueryResult { rows } } }`,
      { id: datasetId },
      owner.token,
    );
    expect(res.data?.datasetQuery.rows, JSON.stringify(res)).toEqual([{ id: 1 }]);
    const saved = await server.gql(
      `mutation($d: ID!) { saveQuery(input: { datasetId: $d, name: "literal", query: { where: { column: "id", lte: "$params.n" } }, parameters: [{ name: "n", type: INTEGER, default: 2 }] }) {
        __typename ... on SavedQuery { query parameters { default } } } }`,
      { d: datasetId },
      owner.token,
    );
    expect(saved.data?.saveQuery, JSON.stringify(saved)).toMatchObject({
      __typename: 'SavedQuery',
      query: { where: { column: 'id', lte: '$params.n' } },
      parameters: [{ default: 2 }],
    });
    const policy = await server.gql(
      `mutation($d: ID!) { setDatasetPolicy(input: { datasetId: $d, role: ANALYST, rowFilter: { column: "region", eq: "north" }, columnRules: [{ column: "email", rule: HASH }] }) {
        __typename ... on DatasetPolicy { rowFilter } } }`,
      { d: datasetId },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.rowFilter, JSON.stringify(policy)).toMatchObject({
      column: 'region',
      eq: 'north',
    });
  });
});

describe('malformed ids', () => {
  it('answer typed input errors, never a server error', async () => {
    const badPolicy = Buffer.from('DatasetPolicy:not-a-uuid').toString('base64');
    const removed = await server.gql(
      'mutation($id: ID!) { removeDatasetPolicy(id: $id) { __typename ... on Error { code } } }',
      { id: badPolicy },
      owner.token,
    );
    expect(removed.data?.removeDatasetPolicy).toEqual({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    const badSaved = Buffer.from('SavedQuery:1 or 1=1').toString('base64');
    const run = await server.gql(
      'query($id: ID!) { runSavedQuery(id: $id) { __typename ... on Error { code } } }',
      { id: badSaved },
      owner.token,
    );
    expect(run.data?.runSavedQuery).toEqual({ __typename: 'InputError', code: 'BAD_USER_INPUT' });
    const badDataset = Buffer.from('Dataset:x').toString('base64');
    const query = await server.gql(QUERY, { id: badDataset, input: {} }, owner.token);
    expect(query.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('audit trail', () => {
  it('every kind of gated read above left audit events, with the reader and row counts', async () => {
    for (const action of ['QUERY', 'EXPORT', 'MATERIALIZE', 'SAVED_QUERY', 'ASK']) {
      const res = await server.gql(
        `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) {
          edges { node { action viewerKind rowCount versionId datasetId } } } }`,
        { f: { action, datasetId } },
        owner.token,
      );
      const events = res.data?.auditEvents.edges.map((e: any) => e.node) ?? [];
      expect(events.length, `${action}: ${JSON.stringify(res)}`).toBeGreaterThan(0);
      for (const e of events) {
        expect(e).toMatchObject({ action, datasetId });
        expect(e.versionId).toBeTruthy();
        expect(typeof e.rowCount).toBe('number');
      }
    }
  });
});
