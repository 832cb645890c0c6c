import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../db/scratch';
import { startTestServer, type TestServer, usingPostgres } from '../helpers/server';

/**
 * The access caches (src/access/cache.ts) never outlive a change: a process warms them by
 * reading, another process (on PostgreSQL; the same one on PGlite) makes the change, and the
 * first process's very next request already answers under the change. Each cached thing has its
 * own case: policies (row filter, hidden column, removal), a column's sensitivity, an API key,
 * the dataset and version rows the gate opens on (a new version, a rename, a deletion), and a
 * signed-in member's membership (a role change, a removal).
 */

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

type Gql = (query: string, variables?: object, auth?: string) => Promise<any>;

function client(base: string): Gql {
  return async (query, variables = {}, auth) => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, ...((await res.json()) as object) };
  };
}

/** Starts an API process; resolves with its base URL once it listens. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${out}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /GraphiQL at (\S+)\/graphql/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return { child, url };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const CSV = 'name,email,score\nada,ada@example.com,3\nbob,bob@example.com,5\ncy,cy@example.com,8\n';

const READ = `query($id: ID!) {
  datasets(first: 10) { edges { node { id name } } }
  dataset(id: $id) { currentVersion { rowCount columns { name type access } } }
}`;
const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename ... on DatasetPolicy { id } ... on Error { code message } } }`;
const REMOVE_POLICY = `mutation($id: ID!) { removeDatasetPolicy(id: $id) {
  __typename ... on Error { code message } } }`;
const SENSITIVITY = `mutation($d: ID!, $c: String!, $s: Sensitivity!) {
  setColumnSensitivity(datasetId: $d, column: $c, sensitivity: $s) {
    __typename ... on Error { code message } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on ApiKey { active } ... on Error { code } } }`;
const API_KEYS = '{ apiKeys(first: 50) { edges { node { id lastUsedAt } } } }';
const GATED = `query($id: ID!, $v: Int) { datasetQuery(datasetId: $id, version: $v, input: {}) {
  __typename ... on QueryResult { totalCount rows } ... on Error { code } } }`;

describe(usingPostgres ? 'access caches across two API processes' : 'access caches', () => {
  /** Where changes are made, and the process whose caches are warmed and checked. */
  let changer: Gql;
  let reader: Gql;
  let owner = '';
  let datasetId = '';
  const children: ChildProcess[] = [];
  let scratch: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
  let single: TestServer | undefined;

  beforeAll(async () => {
    if (usingPostgres) {
      scratch = await scratchDatabase(process.env.TEST_DATABASE_URL);
      const env = {
        DATABASE_URL: scratch.url,
        PESO_SECRET: randomBytes(32).toString('base64url'),
        PESO_DEMO: 'off',
        PESO_WORKERS: '0',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        PESO_RATE_LIMIT_PER_ADDRESS: '1000000',
        PESO_RATE_LIMIT_PER_KEY: '1000000',
        PESO_RATE_LIMIT_PER_USER: '1000000',
      };
      // One at a time: the first applies the migrations.
      const a = start(env);
      children.push(a.child);
      changer = client(await a.url);
      const b = start(env);
      children.push(b.child);
      reader = client(await b.url);
    } else {
      single = await startTestServer();
      changer = reader = client(single.url);
    }
    const signUp = await changer(
      'mutation($i: SignUpInput!) { signUp(input: $i) { ... on AuthPayload { token } } }',
      {
        i: {
          email: 'cache@example.com',
          password: 'correct horse battery',
          name: 'C',
          organizationName: 'Cache org',
        },
      },
    );
    owner = signUp.data.signUp.token;
    const created = await changer(
      'mutation { createDataset(input: { name: "people" }) { ... on Dataset { id } } }',
      {},
      owner,
    );
    datasetId = created.data.createDataset.id;
    const signed = await changer(
      'mutation($d: ID!, $o: UploadOptions) { createUploadUrl(datasetId: $d, filename: "people.csv", options: $o) { ... on UploadUrl { url } } }',
      { d: datasetId, o: { sensitivityOverrides: [{ column: 'email', sensitivity: 'NONE' }] } },
      owner,
    );
    const put = await fetch(signed.data.createUploadUrl.url, { method: 'PUT', body: CSV });
    expect(put.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    for (const child of children) await stop(child);
    await scratch?.drop();
    await single?.close();
  });

  async function newKey(name: string) {
    const res = await changer(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) {
        ... on CreateApiKeyPayload { secret apiKey { id } } } }`,
      { i: { name, role: 'ANALYST' } },
      owner,
    );
    return res.data.createApiKey as { secret: string; apiKey: { id: string } };
  }

  async function setPolicy(apiKeyId: string, extra: object = {}) {
    const res = await changer(SET_POLICY, { input: { datasetId, apiKeyId, ...extra } }, owner);
    expect(res.data.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    return res.data.setDatasetPolicy.id as string;
  }

  const read = async (secret: string) => reader(READ, { id: datasetId }, secret);

  it('a policy change is obeyed by the other process at once: row filter, hidden column, removal', async () => {
    const key = await newKey('policy');
    const policyId = await setPolicy(key.apiKey.id);
    // Warm the reader's caches under the open policy (twice: the second is served from them).
    for (let i = 0; i < 2; i++) {
      const open = await read(key.secret);
      expect(open.data.dataset.currentVersion.rowCount).toBe(3);
      expect(open.data.dataset.currentVersion.columns.map((c: any) => c.name)).toEqual([
        'name',
        'email',
        'score',
      ]);
    }

    await setPolicy(key.apiKey.id, {
      rowFilter: { column: 'score', gt: 4 },
      columnRules: [{ column: 'email', rule: 'HIDE' }],
    });
    const narrowed = await read(key.secret);
    expect(narrowed.data.dataset.currentVersion.rowCount).toBe(2);
    expect(narrowed.data.dataset.currentVersion.columns.map((c: any) => c.name)).toEqual([
      'name',
      'score',
    ]);

    const removed = await changer(REMOVE_POLICY, { id: policyId }, owner);
    expect(removed.data.removeDatasetPolicy.__typename).toBe('DatasetPolicy');
    const gone = await read(key.secret);
    expect(gone.data.datasets.edges).toEqual([]);
    expect(gone.data.dataset).toBeNull();
  });

  it('a sensitivity change is obeyed by the other process at once', async () => {
    const key = await newKey('sensitivity');
    await setPolicy(key.apiKey.id);
    for (let i = 0; i < 2; i++) {
      const clear = await read(key.secret);
      expect(
        clear.data.dataset.currentVersion.columns.find((c: any) => c.name === 'email').access,
      ).toBe('CLEAR');
    }
    const changed = await changer(SENSITIVITY, { d: datasetId, c: 'email', s: 'PII' }, owner);
    expect(changed.data.setColumnSensitivity.__typename).toBe('Dataset');
    const masked = await read(key.secret);
    expect(
      masked.data.dataset.currentVersion.columns.find((c: any) => c.name === 'email').access,
    ).toBe('MASK');
    // And back, so the cases stay independent.
    await changer(SENSITIVITY, { d: datasetId, c: 'email', s: 'NONE' }, owner);
    const again = await read(key.secret);
    expect(
      again.data.dataset.currentVersion.columns.find((c: any) => c.name === 'email').access,
    ).toBe('CLEAR');
  });

  it('a new version, a rename and a deletion are seen by the other process at once', async () => {
    const created = await changer(
      'mutation { createDataset(input: { name: "visits" }) { ... on Dataset { id } } }',
      {},
      owner,
    );
    const id = created.data.createDataset.id as string;
    const upload = async (csv: string) => {
      const signed = await changer(
        'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "visits.csv") { ... on UploadUrl { url } } }',
        { d: id },
        owner,
      );
      const put = await fetch(signed.data.createUploadUrl.url, { method: 'PUT', body: csv });
      expect(put.status).toBe(201);
    };
    const gated = async (v: number | null = null) =>
      (await reader(GATED, { id, v }, owner)).data.datasetQuery;
    await upload('page,n\na,1\n');
    // Warm the reader's gate (twice: the second is served from the cache).
    for (let i = 0; i < 2; i++) expect((await gated()).totalCount).toBe(1);

    await upload('page,n\na,1\nb,2\n');
    expect((await gated()).totalCount).toBe(2);
    expect((await gated(1)).totalCount).toBe(1);
    expect((await gated(2)).totalCount).toBe(2);
    expect((await gated(3)).code).toBe('NOT_FOUND');

    const renamed = await changer(
      'mutation($d: ID!) { updateDataset(id: $d, input: { name: "visits 2" }) { ... on Dataset { name } } }',
      { d: id },
      owner,
    );
    expect(renamed.data.updateDataset.name).toBe('visits 2');
    const listed = await reader(`query($id: ID!) { dataset(id: $id) { name } }`, { id }, owner);
    expect(listed.data.dataset.name).toBe('visits 2');
    expect((await gated()).totalCount).toBe(2);

    const deleted = await changer(
      'mutation($d: ID!) { deleteDataset(id: $d) { __typename } }',
      { d: id },
      owner,
    );
    expect(deleted.data.deleteDataset.__typename).toBe('Dataset');
    expect((await gated()).code).toBe('NOT_FOUND');
    expect((await gated(1)).code).toBe('NOT_FOUND');
  });

  it('the datasets list is seen as it is by the other process: created, versioned, renamed, granted, deleted', async () => {
    const LIST = '{ datasets(first: 50) { edges { node { id name currentVersion { number } } } } }';
    const list = async (credential: string) => {
      const res = await reader(LIST, {}, credential);
      expect(res.errors).toBeUndefined();
      return new Map<string, { name: string; version: number | null }>(
        res.data.datasets.edges.map((e: any) => [
          e.node.id,
          { name: e.node.name, version: e.node.currentVersion?.number ?? null },
        ]),
      );
    };
    const key = await newKey('lister');
    // Warm the reader's pages (twice: the second is served from the cache).
    for (let i = 0; i < 2; i++) await list(owner);
    for (let i = 0; i < 2; i++) expect((await list(key.secret)).size).toBe(0);

    const created = await changer(
      'mutation { createDataset(input: { name: "listed" }) { ... on Dataset { id } } }',
      {},
      owner,
    );
    const id = created.data.createDataset.id as string;
    expect((await list(owner)).get(id)).toEqual({ name: 'listed', version: null });

    const signed = await changer(
      'mutation($d: ID!) { createUploadUrl(datasetId: $d, filename: "l.csv") { ... on UploadUrl { url } } }',
      { d: id },
      owner,
    );
    expect(
      (await fetch(signed.data.createUploadUrl.url, { method: 'PUT', body: 'a\n1\n' })).status,
    ).toBe(201);
    expect((await list(owner)).get(id)).toEqual({ name: 'listed', version: 1 });

    await changer(
      'mutation($d: ID!) { updateDataset(id: $d, input: { name: "listed 2" }) { __typename } }',
      { d: id },
      owner,
    );
    expect((await list(owner)).get(id)?.name).toBe('listed 2');

    const policy = await changer(
      SET_POLICY,
      { input: { datasetId: id, apiKeyId: key.apiKey.id } },
      owner,
    );
    expect(policy.data.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    expect([...(await list(key.secret)).keys()]).toEqual([id]);
    const removed = await changer(REMOVE_POLICY, { id: policy.data.setDatasetPolicy.id }, owner);
    expect(removed.errors).toBeUndefined();
    expect((await list(key.secret)).size).toBe(0);

    await changer('mutation($d: ID!) { deleteDataset(id: $d) { __typename } }', { d: id }, owner);
    expect((await list(owner)).has(id)).toBe(false);
  });

  it('a replayed insights read follows a policy change made by the other process at once', async () => {
    const INSIGHTS = `query($id: ID!) { datasetInsights(datasetId: $id) {
      status rows columns { name count mean } } }`;
    const key = await newKey('insights');
    await setPolicy(key.apiKey.id);
    const insights = async () => {
      const res = await reader(INSIGHTS, { id: datasetId }, key.secret);
      expect(res.errors).toBeUndefined();
      return res.data.datasetInsights;
    };
    // Twice: the second is a replay of the first.
    for (let i = 0; i < 2; i++) {
      const all = await insights();
      expect(all.rows).toBe(3);
      expect(all.columns.find((c: any) => c.name === 'score').mean).toBeCloseTo(16 / 3, 12);
    }
    await setPolicy(key.apiKey.id, { rowFilter: { column: 'score', gt: 4 } });
    for (let i = 0; i < 2; i++) {
      const narrowed = await insights();
      expect(narrowed.rows).toBe(2);
      expect(narrowed.columns.find((c: any) => c.name === 'score').mean).toBe(6.5);
    }
    const hidden = await changer(SENSITIVITY, { d: datasetId, c: 'score', s: 'SECRET' }, owner);
    expect(hidden.data.setColumnSensitivity.__typename).not.toBe('Error');
    const masked = await insights();
    expect(masked.columns.map((c: any) => c.name)).not.toContain('score');
    await changer(SENSITIVITY, { d: datasetId, c: 'score', s: 'NONE' }, owner);
  });

  it("a member's role change and removal are obeyed by the other process at once", async () => {
    const invited = await changer(
      `mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
        ... on InviteMemberPayload { temporaryPassword membership { id } } } }`,
      { input: { email: 'member@cache.example', name: 'M', role: 'ADMIN' } },
      owner,
    );
    const { temporaryPassword, membership } = invited.data.inviteMember;
    const login = await changer(
      'mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { token } } }',
      { input: { email: 'member@cache.example', password: temporaryPassword } },
    );
    const token = login.data.login.token as string;
    const role = async () => (await reader('{ viewer { role } }', {}, token)) as any;
    // Warm the reader's cache (twice: the second is served from it).
    for (let i = 0; i < 2; i++) expect((await role()).data.viewer.role).toBe('ADMIN');

    const changed = await changer(
      'mutation($m: ID!) { setMemberRole(membershipId: $m, role: VIEWER) { __typename } }',
      { m: membership.id },
      owner,
    );
    expect(changed.data.setMemberRole.__typename).toBe('Membership');
    expect((await role()).data.viewer.role).toBe('VIEWER');

    const removed = await changer(
      'mutation($m: ID!) { removeMember(membershipId: $m) { __typename } }',
      { m: membership.id },
      owner,
    );
    expect(removed.data.removeMember.__typename).toBe('Membership');
    const refused = await role();
    expect(refused.status).toBe(401);
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a revoked key is refused by the other process at once; its use was recorded', async () => {
    const key = await newKey('revoked');
    await setPolicy(key.apiKey.id);
    for (let i = 0; i < 3; i++) {
      const ok = await read(key.secret);
      expect(ok.status).toBe(200);
      expect(ok.data.datasets.edges).toHaveLength(1);
    }
    // Uses are written in batches; listing the keys on the process that saw them writes them.
    const listed = await reader(API_KEYS, {}, owner);
    const row = listed.data.apiKeys.edges.find((e: any) => e.node.id === key.apiKey.id);
    expect(row.node.lastUsedAt).not.toBeNull();

    const revoked = await changer(REVOKE, { id: key.apiKey.id }, owner);
    expect(revoked.data.revokeApiKey).toEqual({ __typename: 'ApiKey', active: false });
    const refused = await read(key.secret);
    expect(refused.status).toBe(401);
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.data ?? null).toBeNull();
  });
});
