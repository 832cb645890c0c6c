/**
 * Side doors around hidden data, tried as an attacker: a file checksum and size that let a small
 * SECRET value be brute-forced, row and distinct counts of rows and values the caller cannot
 * see, a shared saved query that quotes literals on a masked column, error messages that confirm
 * a hidden column exists — and an admin, or an admin's API key, lifting its own masks by
 * rewriting the policy that names it. Over HTTP, and the version fields over WebSocket and SSE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { sseSubscribe } from '../helpers/sse';
import { customers, loadCustomers, QUERY, SET_POLICY } from '../query/fixtures';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let analyst: Awaited<ReturnType<typeof inviteMember>>;
let viewer: Awaited<ReturnType<typeof inviteMember>>;
let datasetId: string;
let versionId: string;
const all = customers();
const north = all.filter((c) => c.region === 'north');

const VERSION = `query($id: ID!) { node(id: $id) { ... on DatasetVersion {
  rowCount byteSize checksum columns { name access distinctEstimate } } } }`;
const SENSITIVITY = `mutation($id: ID!, $column: String!, $s: Sensitivity!) {
  setColumnSensitivity(datasetId: $id, column: $column, sensitivity: $s) {
    __typename ... on Error { code message } } }`;
const REMOVE_POLICY = `mutation($id: ID!) { removeDatasetPolicy(id: $id) {
  __typename ... on Error { code message } } }`;
const SAVE = `mutation($input: SaveQueryInput!) { saveQuery(input: $input) {
  __typename ... on SavedQuery { id query } ... on Error { code message } } }`;
const SAVED = `query($id: ID) { savedQueries(datasetId: $id) {
  name query parameters { name default } } }`;

function versionOf(res: { data?: any }) {
  return res.data?.node as {
    rowCount: number | null;
    byteSize: number | null;
    checksum: string | null;
    columns: Array<{ name: string; access: string; distinctEstimate: number | null }>;
  };
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'side');
  ({ datasetId, versionId } = await loadCustomers(server, owner.token));
  const secret = await server.gql(
    SENSITIVITY,
    { id: datasetId, column: 'spend', s: 'SECRET' },
    owner.token,
  );
  expect(secret.data?.setColumnSensitivity.__typename, JSON.stringify(secret)).toBe('Dataset');
  analyst = await inviteMember(server, owner.token, 'ANALYST');
  viewer = await inviteMember(server, owner.token, 'VIEWER');
  const policy = await server.gql(
    SET_POLICY,
    {
      input: {
        datasetId,
        role: 'VIEWER',
        rowFilter: { column: 'region', eq: 'north' },
        columnRules: [{ column: 'notes', rule: 'HIDE' }],
      },
    },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
});
afterAll(() => server?.close());

describe('version metadata', () => {
  it('shows the checksum and size only to a caller who reads every column of every row in clear', async () => {
    const full = versionOf(await server.gql(VERSION, { id: versionId }, owner.token));
    expect(full.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(full.byteSize).toBeGreaterThan(0);
    expect(full.rowCount).toBe(all.length);
    // The analyst reads every row, but spend masked (SECRET); the viewer a region, notes hidden.
    for (const token of [analyst.token, viewer.token]) {
      const seen = versionOf(await server.gql(VERSION, { id: versionId }, token));
      expect(seen).toMatchObject({ checksum: null, byteSize: null });
    }
    // The same over WebSocket and SSE.
    const ws = subscribe(server.ws(analyst.token), VERSION, { id: versionId });
    await ws.done;
    expect(ws.events[0]?.data?.node).toMatchObject({ checksum: null, byteSize: null });
    const sse = sseSubscribe(server.graphqlUrl, VERSION, { id: versionId }, viewer.token);
    await sse.done;
    expect(sse.events[0]?.data?.node).toMatchObject({ checksum: null, byteSize: null });
  });

  it('counts only the rows a row policy lets through, and no distinct values of columns not read in clear', async () => {
    const seen = versionOf(await server.gql(VERSION, { id: versionId }, viewer.token));
    expect(seen.rowCount).toBe(north.length);
    // Under a row filter no distinct count is exact for the viewer; notes is not listed at all.
    expect(seen.columns.map((c) => c.name)).not.toContain('notes');
    expect(seen.columns.every((c) => c.distinctEstimate === null)).toBe(true);

    const masked = versionOf(await server.gql(VERSION, { id: versionId }, analyst.token));
    expect(masked.rowCount).toBe(all.length);
    const byName = new Map(masked.columns.map((c) => [c.name, c]));
    expect(byName.get('spend')).toMatchObject({ access: 'MASK', distinctEstimate: null });
    expect(byName.get('email')).toMatchObject({ access: 'MASK', distinctEstimate: null });
    expect(byName.get('region')).toMatchObject({
      access: 'CLEAR',
      distinctEstimate: new Set(all.map((c) => c.region)).size,
    });

    // A diff against a second version counts the viewer's rows of each.
    const second = await server.upload(
      `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
        __typename ... on DatasetVersion { id } } }`,
      { datasetId },
      {
        name: 'more.csv',
        content:
          'id,name,email,region,spend,signup,notes\n41,A,a@example.com,south,1,2026-01-01,x\n',
      },
      owner.token,
    );
    const secondId = second.data!.uploadDatasetVersion.id;
    const DIFF = `query($id: ID!, $against: ID!) { node(id: $id) { ... on DatasetVersion {
      rowCount diff(against: $against) { rowCountChange } } } }`;
    const diff = await server.gql(DIFF, { id: secondId, against: versionId }, viewer.token);
    // The new version has no north row: the viewer sees 0 rows of it, 13 fewer than before.
    expect(diff.data?.node).toEqual({ rowCount: 0, diff: { rowCountChange: -north.length } });
    const ownerDiff = await server.gql(DIFF, { id: secondId, against: versionId }, owner.token);
    expect(ownerDiff.data?.node).toEqual({ rowCount: 1, diff: { rowCountChange: 1 - all.length } });
  });

  it('gives aggregate-only access no row count', async () => {
    const key = await createApiKey(server, owner.token, 'ANALYST');
    const policy = await server.gql(
      SET_POLICY,
      { input: { datasetId, apiKeyId: key.id, access: 'AGGREGATE_ONLY' } },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
    const seen = versionOf(await server.gql(VERSION, { id: versionId }, key.secret));
    expect(seen).toMatchObject({ rowCount: null, byteSize: null, checksum: null });
  });
});

describe('saved queries', () => {
  it('withholds a shared query that compares a column the reader cannot read in clear', async () => {
    const secretQuery = await server.gql(
      SAVE,
      {
        input: {
          datasetId,
          name: 'big spenders',
          query: { where: { column: 'spend', gt: '$params.floor' }, select: ['id'] },
          parameters: [{ name: 'floor', type: 'FLOAT', default: 73.7 }],
        },
      },
      owner.token,
    );
    expect(secretQuery.data?.saveQuery.query, JSON.stringify(secretQuery)).toBeTruthy();
    const hiddenQuery = await server.gql(
      SAVE,
      { input: { datasetId, name: 'notes', query: { select: ['id', 'notes'] } } },
      owner.token,
    );
    expect(hiddenQuery.data?.saveQuery.__typename).toBe('SavedQuery');
    const plain = await server.gql(
      SAVE,
      {
        input: { datasetId, name: 'by region', query: { where: { column: 'region', eq: 'east' } } },
      },
      owner.token,
    );
    expect(plain.data?.saveQuery.__typename).toBe('SavedQuery');

    const read = async (token: string) =>
      Object.fromEntries(
        (await server.gql(SAVED, { id: datasetId }, token)).data!.savedQueries.map((q: any) => [
          q.name,
          q,
        ]),
      );
    const mine = await read(owner.token);
    expect(mine['big spenders'].query.where.column).toBe('spend');
    expect(mine['big spenders'].parameters[0].default).toBe(73.7);
    for (const token of [analyst.token, viewer.token]) {
      const theirs = await read(token);
      expect(theirs['big spenders']).toEqual({
        name: 'big spenders',
        query: null,
        parameters: [{ name: 'floor', default: null }],
      });
      expect(JSON.stringify(theirs)).not.toContain('73.7');
      expect(theirs['by region'].query).toEqual({ where: { column: 'region', eq: 'east' } });
    }
    // The analyst may read notes; the viewer must not learn it exists.
    expect((await read(analyst.token)).notes.query).toEqual({ select: ['id', 'notes'] });
    expect((await read(viewer.token)).notes.query).toBeNull();
  });
});

describe('a hidden column is a missing column', () => {
  it('answers every use of a hidden column exactly as a column that does not exist', async () => {
    const uses = (name: string) => [
      { select: [name] },
      { where: { column: name, eq: 'x' } },
      { orderBy: [{ column: name }] },
      { groupBy: [{ column: name }], aggregates: [{ function: 'COUNT' }] },
      { aggregates: [{ function: 'COUNT_DISTINCT', column: name }] },
    ];
    for (const [i, input] of uses('notes').entries()) {
      const hidden = await server.gql(QUERY, { id: datasetId, input }, viewer.token);
      const missing = await server.gql(
        QUERY,
        { id: datasetId, input: uses('nothing_here')[i] },
        viewer.token,
      );
      expect(hidden.data?.datasetQuery, JSON.stringify(hidden)).toEqual({
        __typename: 'InputError',
        code: 'BAD_USER_INPUT',
        message: 'No column named "notes".',
      });
      expect(JSON.stringify(missing).replaceAll('nothing_here', 'notes')).toBe(
        JSON.stringify(hidden),
      );
    }
    // No message anywhere in the code says a column is hidden.
    const { readFileSync, readdirSync } = await import('node:fs');
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
      );
    for (const file of [...sources('src'), ...sources('resolvers')])
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/is hidden from you/);
  });

  it('an admin whose policy hides a column cannot learn it exists by setting its sensitivity', async () => {
    const admin = await inviteMember(server, owner.token, 'ADMIN');
    const policy = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: admin.userId,
          columnRules: [{ column: 'notes', rule: 'HIDE' }],
        },
      },
      owner.token,
    );
    expect(policy.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    for (const column of ['notes', 'nothing_here']) {
      const res = await server.gql(SENSITIVITY, { id: datasetId, column, s: 'NONE' }, admin.token);
      expect(res.data?.setColumnSensitivity).toEqual({
        __typename: 'InputError',
        code: 'BAD_USER_INPUT',
        message: `No column named "${column}".`,
      });
      const rule = await server.gql(
        SET_POLICY,
        { input: { datasetId, role: 'ANALYST', columnRules: [{ column, rule: 'MASK' }] } },
        admin.token,
      );
      expect(rule.data?.setDatasetPolicy).toEqual({
        __typename: 'InputError',
        code: 'BAD_USER_INPUT',
        message: `No column named "${column}" in the current version.`,
      });
    }
  });
});

describe('no credential widens its own access', () => {
  it('an ADMIN API key administers no policy, its own least of all', async () => {
    const key = await createApiKey(server, owner.token, 'ADMIN');
    const set = await server.gql(
      SET_POLICY,
      { input: { datasetId, apiKeyId: key.id, columnRules: [{ column: 'spend', rule: 'MASK' }] } },
      owner.token,
    );
    const policyId = set.data?.setDatasetPolicy.id;
    expect(policyId, JSON.stringify(set)).toBeTruthy();
    const lift = await server.gql(
      SET_POLICY,
      { input: { datasetId, apiKeyId: key.id, columnRules: [{ column: 'spend', rule: 'CLEAR' }] } },
      key.secret,
    );
    expect(lift.errors?.[0]?.extensions?.code, JSON.stringify(lift)).toBe('FORBIDDEN');
    const remove = await server.gql(REMOVE_POLICY, { id: policyId }, key.secret);
    expect(remove.errors?.[0]?.extensions?.code, JSON.stringify(remove)).toBe('FORBIDDEN');
    const other = await server.gql(
      SET_POLICY,
      { input: { datasetId, role: 'ANALYST', columnRules: [{ column: 'spend', rule: 'CLEAR' }] } },
      key.secret,
    );
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Nor by lowering the sensitivity its default masks follow.
    const keyless = await createApiKey(server, owner.token, 'ADMIN');
    await server.gql(SET_POLICY, { input: { datasetId, apiKeyId: keyless.id } }, owner.token);
    const lower = await server.gql(
      SENSITIVITY,
      { id: datasetId, column: 'email', s: 'NONE' },
      keyless.secret,
    );
    expect(lower.errors?.[0]?.extensions?.code, JSON.stringify(lower)).toBe('FORBIDDEN');
    const raise = await server.gql(
      SENSITIVITY,
      { id: datasetId, column: 'region', s: 'PII' },
      keyless.secret,
    );
    expect(raise.data?.setColumnSensitivity.__typename, JSON.stringify(raise)).toBe('Dataset');
    await server.gql(SENSITIVITY, { id: datasetId, column: 'region', s: 'NONE' }, owner.token);
    const rows = await server.gql(
      QUERY,
      { id: datasetId, input: { select: ['spend'] } },
      key.secret,
    );
    expect(rows.data?.datasetQuery.columns[0].rule).toBe('MASK');
  });

  it('an admin cannot loosen the policy that restricts them, nor grant a key more than they hold', async () => {
    const admin = await inviteMember(server, owner.token, 'ADMIN');
    const own = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: admin.userId,
          rowFilter: { column: 'region', eq: 'north' },
          columnRules: [{ column: 'spend', rule: 'MASK' }],
        },
      },
      owner.token,
    );
    const ownId = own.data?.setDatasetPolicy.id;
    expect(ownId, JSON.stringify(own)).toBeTruthy();
    const refusals = [
      // Rewriting their own policy: the column in clear, or all rows.
      { datasetId, userId: admin.userId, rowFilter: { column: 'region', eq: 'north' } },
      {
        datasetId,
        userId: admin.userId,
        columnRules: [{ column: 'spend', rule: 'MASK' }],
      },
      // Another principal with what they may not read.
      { datasetId, role: 'VIEWER', columnRules: [{ column: 'spend', rule: 'CLEAR' }] },
    ];
    for (const input of refusals) {
      const res = await server.gql(SET_POLICY, { input }, admin.token);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
      expect(res.errors?.[0]?.message).toMatch(/widen your own access|do not have yourself/);
    }
    const key = await createApiKey(server, admin.token, 'ANALYST');
    const grant = await server.gql(
      SET_POLICY,
      { input: { datasetId, apiKeyId: key.id } },
      admin.token,
    );
    expect(grant.errors?.[0]?.extensions?.code, JSON.stringify(grant)).toBe('FORBIDDEN');
    const removal = await server.gql(REMOVE_POLICY, { id: ownId }, admin.token);
    expect(removal.errors?.[0]?.extensions?.code, JSON.stringify(removal)).toBe('FORBIDDEN');

    // Within what they hold, they administer: a key restricted as they are, or more.
    const narrower = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          apiKeyId: key.id,
          rowFilter: {
            and: [
              { column: 'region', eq: 'north' },
              { column: 'id', lt: 5 },
            ],
          },
          columnRules: [
            { column: 'spend', rule: 'HIDE' },
            { column: 'email', rule: 'MASK' },
            { column: 'name', rule: 'MASK' },
          ],
        },
      },
      admin.token,
    );
    expect(narrower.data?.setDatasetPolicy.__typename, JSON.stringify(narrower)).toBe(
      'DatasetPolicy',
    );
    const tighter = await server.gql(
      SET_POLICY,
      {
        input: {
          datasetId,
          userId: admin.userId,
          rowFilter: { column: 'region', eq: 'north' },
          columnRules: [{ column: 'spend', rule: 'HIDE' }],
        },
      },
      admin.token,
    );
    expect(tighter.data?.setDatasetPolicy.__typename, JSON.stringify(tighter)).toBe(
      'DatasetPolicy',
    );
    // Another admin (here the owner) may loosen it.
    const lifted = await server.gql(REMOVE_POLICY, { id: ownId }, owner.token);
    expect(lifted.data?.removeDatasetPolicy.__typename, JSON.stringify(lifted)).toBe(
      'DatasetPolicy',
    );
  });
});
