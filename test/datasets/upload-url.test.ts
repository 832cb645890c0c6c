import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countOf,
  signUpOwner,
  startTestServer,
  storedTables,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { vegaFile } from './sources';

const CREATE = /* GraphQL */ `
  mutation($input: CreateDatasetInput!) {
    createDataset(input: $input) { __typename ... on Dataset { id } ... on Error { code message } }
  }
`;
const SIGN = /* GraphQL */ `
  mutation($datasetId: ID!, $filename: String!, $options: UploadOptions) {
    createUploadUrl(datasetId: $datasetId, filename: $filename, options: $options) {
      __typename
      ... on UploadUrl { url method versionId expiresAt }
      ... on Error { code message }
    }
  }
`;
const FOLLOW = /* GraphQL */ `
  subscription($versionId: ID!) {
    datasetIngestion(versionId: $versionId) { versionId status rows totalBytes percent error }
  }
`;
const VERSIONS = /* GraphQL */ `
  query($id: ID!) {
    dataset(id: $id) {
      versions { id number rowCount columns { name type } }
    }
  }
`;

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;

async function createDataset(name: string, token = owner.token): Promise<string> {
  const res = await server.gql(CREATE, { input: { name } }, token);
  expect(res.data?.createDataset.__typename, JSON.stringify(res)).toBe('Dataset');
  return res.data!.createDataset.id;
}

async function sign(datasetId: string, filename: string, token = owner.token, options?: object) {
  const res = await server.gql(SIGN, { datasetId, filename, options }, token);
  return res;
}

async function signed(datasetId: string, filename: string, token = owner.token, options?: object) {
  const res = await sign(datasetId, filename, token, options);
  expect(res.data?.createUploadUrl.__typename, JSON.stringify(res)).toBe('UploadUrl');
  return res.data!.createUploadUrl as { url: string; versionId: string; expiresAt: string };
}

async function put(url: string, body: BodyInit, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'PUT',
    body,
    headers,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const tableCount = () => storedTables(server);
const storedVersions = () => countOf(server, 'select count(*)::int as n from dataset_versions');

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'uploader');
});
afterAll(() => server?.close());

describe('createUploadUrl', () => {
  it('loads a file PUT to the signed URL, once', async () => {
    const id = await createDataset('cars');
    const ticket = await signed(id, 'cars.json');
    expect(ticket.url.startsWith(`${server.url}/uploads/`)).toBe(true);
    expect(new Date(ticket.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const res = await put(ticket.url, vegaFile('cars.json') as BodyInit);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toMatchObject({ id: ticket.versionId, number: 1, rowCount: 406 });

    const read = await server.gql(VERSIONS, { id }, owner.token);
    const node = read.data?.dataset.versions[0];
    expect(node).toMatchObject({ id: ticket.versionId, rowCount: 406 });
    const types = Object.fromEntries(node.columns.map((c: any) => [c.name, c.type]));
    expect(types).toMatchObject({
      Name: 'STRING',
      Miles_per_Gallon: 'FLOAT',
      Cylinders: 'INTEGER',
    });

    const replay = await put(ticket.url, vegaFile('cars.json') as BodyInit);
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('CONFLICT');

    // Following an upload that already ended gives its outcome at once, then completes.
    const sub = subscribe(server.ws(owner.token), FOLLOW, { versionId: ticket.versionId });
    await sub.done;
    expect(sub.events.map((e) => e.data?.datasetIngestion)).toEqual([
      {
        versionId: ticket.versionId,
        status: 'READY',
        rows: 406,
        totalBytes: expect.any(Number),
        percent: 100,
        error: null,
      },
    ]);
  });

  it('streams a chunked body with live progress to a subscriber that follows the version', async () => {
    const id = await createDataset('streamed');
    const options = { typeOverrides: [{ column: 'n', type: 'FLOAT' }] };
    const ticket = await signed(id, 'numbers.csv', owner.token, options);
    const sub = subscribe(server.ws(owner.token), FOLLOW, { versionId: ticket.versionId });

    const chunks = 10;
    const perChunk = 3_000;
    let sent = 0;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === chunks) {
          controller.close();
          return;
        }
        // Slow enough that progress is published while the body is still arriving.
        if (sent > 0) await new Promise((r) => setTimeout(r, 200));
        const start = sent * perChunk;
        let text = sent === 0 ? 'n,label\n' : '';
        for (let i = start; i < start + perChunk; i++) text += `${i},row ${i}\n`;
        sent++;
        controller.enqueue(encoder.encode(text));
      },
    });
    const res = await put(ticket.url, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version.rowCount).toBe(chunks * perChunk);

    await sub.done;
    const events = sub.events.map((e) => e.data?.datasetIngestion);
    expect(events.at(-1)).toMatchObject({ status: 'READY', rows: chunks * perChunk, error: null });
    const loading = events.slice(0, -1);
    expect(loading.length).toBeGreaterThan(0);
    for (const e of loading) {
      expect(e.status).toBe('LOADING');
      expect(e.rows).toBeLessThan(chunks * perChunk);
      // A chunked body has no Content-Length, so no percentage until the end.
      expect(e.totalBytes).toBeNull();
      expect(e.percent).toBeNull();
    }

    const read = await server.gql(VERSIONS, { id }, owner.token);
    const columns = read.data?.dataset.versions[0].columns;
    expect(columns).toEqual([
      { name: 'n', type: 'FLOAT' },
      { name: 'label', type: 'STRING' },
    ]);
  });

  it('rejects a bad file with its line, leaves nothing behind, and reports FAILED', async () => {
    const id = await createDataset('broken');
    const ticket = await signed(id, 'bad.csv');
    const [tables, versions] = [await tableCount(), await storedVersions()];
    const res = await put(ticket.url, 'a,b\n1,2\n3\n');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RAGGED_ROW', line: 3 });
    expect(await tableCount()).toBe(tables);
    expect(await storedVersions()).toBe(versions);

    const sub = subscribe(server.ws(owner.token), FOLLOW, { versionId: ticket.versionId });
    await sub.done;
    expect(sub.events.map((e) => e.data?.datasetIngestion)).toMatchObject([
      { status: 'FAILED', error: expect.stringMatching(/Line 3/) },
    ]);
  });

  it('answers 413 for a declared size over the limit without reading the body', async () => {
    const small = await startTestServer({ PESO_MAX_UPLOAD_MB: '1' });
    try {
      const me = await signUpOwner(small, 'big');
      const created = await small.gql(CREATE, { input: { name: 'big' } }, me.token);
      const res = await small.gql(
        SIGN,
        { datasetId: created.data!.createDataset.id, filename: 'big.csv' },
        me.token,
      );
      const url = res.data!.createUploadUrl.url as string;
      const big = `x\n${'1\n'.repeat(600_000)}`;
      const answer = await put(url, big);
      expect(answer.status).toBe(413);
      expect(answer.body.error).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LARGE' });
    } finally {
      await small.close();
    }
  });

  it('refuses tampered, expired and wrong-method requests', async () => {
    const id = await createDataset('guarded');
    const ticket = await signed(id, 'a.csv');
    const [head, payload, signature] = new URL(ticket.url).pathname.split('/').pop()!.split('.');
    const forged = `${server.url}/uploads/${head}.${payload}.${signature!.slice(0, -2)}xx`;
    expect((await put(forged, 'a\n1\n')).status).toBe(401);
    expect((await put(`${server.url}/uploads/nonsense`, 'a\n1\n')).body.error.code).toBe(
      'UNAUTHENTICATED',
    );
    // A malformed escape in the path is just an invalid token, not a server error.
    expect((await put(`${server.url}/uploads/%E0%A4%A`, 'a\n1\n')).status).toBe(401);
    expect((await fetch(`${server.url}/exports/%E0%A4%A`)).status).toBe(401);
    const get = await fetch(ticket.url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('PUT');
    // The untouched URL still works after all that.
    expect((await put(ticket.url, 'a\n1\n')).status).toBe(201);

    const quick = await startTestServer({ PESO_UPLOAD_URL_TTL_SECONDS: '1' });
    try {
      const me = await signUpOwner(quick, 'late');
      const created = await quick.gql(CREATE, { input: { name: 'late' } }, me.token);
      const res = await quick.gql(
        SIGN,
        { datasetId: created.data!.createDataset.id, filename: 'a.csv' },
        me.token,
      );
      await new Promise((r) => setTimeout(r, 2_100));
      const late = await put(res.data!.createUploadUrl.url, 'a\n1\n');
      expect(late.status).toBe(401);
      expect(late.body.error.message).toBe('Upload URL expired.');
    } finally {
      await quick.close();
    }
  });

  it("checks the signer's rights again at PUT time and hides uploads from other orgs", async () => {
    const id = await createDataset('rights');
    const key = await server.gql(
      'mutation { createApiKey(input: { name: "loader", role: ANALYST }) { ... on CreateApiKeyPayload { secret apiKey { id } } } }',
      {},
      owner.token,
    );
    const { secret, apiKey } = key.data!.createApiKey;
    // API keys see a dataset only once a policy names them.
    expect((await sign(id, 'a.csv', secret)).data?.createUploadUrl.__typename).toBe(
      'NotFoundError',
    );
    const grant = await server.gql(
      'mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) { __typename } }',
      { input: { datasetId: id, apiKeyId: apiKey.id } },
      owner.token,
    );
    expect(grant.data?.setDatasetPolicy.__typename).toBe('DatasetPolicy');
    const ticket = await signed(id, 'a.csv', secret);
    const revoke = await server.gql(
      'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }',
      { id: apiKey.id },
      owner.token,
    );
    expect(revoke.data?.revokeApiKey.__typename).toBe('ApiKey');
    const refused = await put(ticket.url, 'a\n1\n');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toBe('API key revoked.');

    const viewerKey = await server.gql(
      'mutation { createApiKey(input: { name: "v", role: VIEWER }) { ... on CreateApiKeyPayload { secret } } }',
      {},
      owner.token,
    );
    const denied = await sign(id, 'a.csv', viewerKey.data!.createApiKey.secret);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const outsider = await signUpOwner(server, 'outsider');
    const theirs = await sign(id, 'a.csv', outsider.token);
    expect(theirs.data?.createUploadUrl.__typename).toBe('NotFoundError');
    const mine = await signed(id, 'b.csv');
    // A key of the same organization that no policy names sees nothing of the upload either.
    const stranger = await server.gql(
      'mutation { createApiKey(input: { name: "stranger", role: ADMIN }) { ... on CreateApiKeyPayload { secret } } }',
      {},
      owner.token,
    );
    const peek = subscribe(server.ws(stranger.data!.createApiKey.secret), FOLLOW, {
      versionId: mine.versionId,
    });
    await peek.done;
    const peekErrors = [
      ...peek.events.flatMap((e) => e.errors ?? []),
      ...(peek.errors.flat() as any[]),
    ];
    expect(peekErrors.map((e: any) => e.extensions?.code)).toContain('NOT_FOUND');
    expect(peek.events.filter((e) => e.data)).toEqual([]);
    const sub = subscribe(server.ws(outsider.token), FOLLOW, { versionId: mine.versionId });
    await sub.done;
    const errors = [...sub.events.flatMap((e) => e.errors ?? []), ...(sub.errors.flat() as any[])];
    expect(errors.map((e: any) => e.extensions?.code)).toContain('NOT_FOUND');
    expect(sub.events.filter((e) => e.data)).toEqual([]);
  });

  it('refuses a subscription naming both or neither of dataset and version', async () => {
    const sub = subscribe(server.ws(owner.token), 'subscription { datasetIngestion { status } }');
    await sub.done;
    const errors = [...sub.events.flatMap((e) => e.errors ?? []), ...(sub.errors.flat() as any[])];
    expect(errors.map((e: any) => e.extensions?.code)).toContain('BAD_USER_INPUT');
  });
});
