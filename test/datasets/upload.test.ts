import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signUpOwner,
  startTestServer,
  storedTables,
  subscribe,
  type TestServer,
} from '../helpers/server';
import { vegaFile } from './sources';

const vega = vegaFile;

const CREATE = /* GraphQL */ `
  mutation($input: CreateDatasetInput!) {
    createDataset(input: $input) { __typename ... on Dataset { id name } ... on Error { code message } }
  }
`;
const UPLOAD = /* GraphQL */ `
  mutation($datasetId: ID!, $file: File!, $options: UploadOptions) {
    uploadDatasetVersion(datasetId: $datasetId, file: $file, options: $options) {
      __typename
      ... on DatasetVersion {
        id number rowCount checksum
        columns { name type nullable sensitivity piiKind distinctEstimate }
      }
      ... on DatasetInputError { code message reason line column }
      ... on Error { code message }
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

const tableCount = () => storedTables(server);

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'data');
});
afterAll(() => server?.close());

describe('uploadDatasetVersion', () => {
  it('loads penguins.json into typed storage with the real row count and types', async () => {
    const id = await createDataset('penguins');
    const res = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'penguins.json', content: vega('penguins.json') },
      owner.token,
    );
    const version = res.data?.uploadDatasetVersion;
    expect(version?.__typename, JSON.stringify(res)).toBe('DatasetVersion');
    expect(version).toMatchObject({ number: 1, rowCount: 344 });
    const types = Object.fromEntries(version.columns.map((c: any) => [c.name, c.type]));
    expect(types).toMatchObject({
      Species: 'CATEGORY',
      Island: 'CATEGORY',
      'Body Mass (g)': 'INTEGER',
    });
    expect(version.columns.every((c: any) => c.sensitivity === 'NONE')).toBe(true);

    const again = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'penguins.json', content: vega('penguins.json') },
      owner.token,
    );
    expect(again.data?.uploadDatasetVersion).toMatchObject({
      number: 2,
      checksum: version.checksum,
    });
    const listed = await server.gql(
      'query($id: ID!) { dataset(id: $id) { currentVersion { number } versions { number } } }',
      { id },
      owner.token,
    );
    expect(listed.data?.dataset).toEqual({
      currentVersion: { number: 2 },
      versions: [{ number: 2 }, { number: 1 }],
    });
  });

  it('loads seattle-weather.csv and marks an email column as PII', async () => {
    const id = await createDataset('weather');
    const res = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'seattle-weather.csv', content: vega('seattle-weather.csv') },
      owner.token,
    );
    expect(res.data?.uploadDatasetVersion).toMatchObject({ rowCount: 1461 });
    const contacts = await createDataset('contacts');
    const csv = `name,email,spend\n${Array.from({ length: 20 }, (_, i) => `n${i},user${i}@example.com,${i}.5`).join('\n')}\n`;
    const up = await server.upload(
      UPLOAD,
      { datasetId: contacts },
      { name: 'contacts.csv', content: csv },
      owner.token,
    );
    const email = up.data?.uploadDatasetVersion.columns.find((c: any) => c.name === 'email');
    expect(email).toMatchObject({ type: 'STRING', sensitivity: 'PII', piiKind: 'EMAIL' });
  });

  it('rejects a bad row with its line and column and leaves nothing behind', async () => {
    const id = await createDataset('broken');
    const before = await tableCount();
    const rows = Array.from({ length: 12_000 }, (_, i) => `${i},${i * 2}`);
    rows[11_500] = '11500,not-a-number';
    const res = await server.upload(
      UPLOAD,
      { datasetId: id, options: { typeOverrides: [{ column: 'b', type: 'INTEGER' }] } },
      { name: 'broken.csv', content: `a,b\n${rows.join('\n')}\n` },
      owner.token,
    );
    expect(res.data?.uploadDatasetVersion).toMatchObject({
      __typename: 'DatasetInputError',
      code: 'BAD_USER_INPUT',
      reason: 'BAD_VALUE',
      line: 11_502,
      column: 'b',
    });
    expect(await tableCount()).toBe(before);
    const listed = await server.gql(
      'query($id: ID!) { dataset(id: $id) { versions { number } } }',
      { id },
      owner.token,
    );
    expect(listed.data?.dataset.versions).toEqual([]);
  });

  it.each<[string, string | Uint8Array, string]>([
    ['an empty file', '', 'EMPTY_FILE'],
    ['a ragged row', 'a,b\n1,2\n3\n', 'RAGGED_ROW'],
    ['a broken quote', 'a,b\n1,"2\n', 'UNTERMINATED_QUOTE'],
    ['duplicate columns', 'a,A\n1,2\n', 'DUPLICATE_COLUMN'],
    ['invalid UTF-8', new Uint8Array([0x61, 0x0a, 0x31, 0x0a, 0xff, 0xfe, 0x0a]), 'INVALID_UTF8'],
    ['binary garbage', new Uint8Array([0x61, 0x0a, 0x00, 0x01, 0x02, 0x00, 0x0a]), 'BINARY_DATA'],
  ])('rejects %s and leaves nothing behind', async (_label, content, reason) => {
    const id = await createDataset(`bad-${reason}`);
    const before = await tableCount();
    const res = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'bad.csv', content },
      owner.token,
    );
    expect(res.data?.uploadDatasetVersion).toMatchObject({
      __typename: 'DatasetInputError',
      reason,
    });
    expect(await tableCount()).toBe(before);
  });

  it('rejects a file over PESO_MAX_UPLOAD_MB', async () => {
    const small = await startTestServer({ PESO_MAX_UPLOAD_MB: '1' });
    try {
      const person = await signUpOwner(small, 'limits');
      const created = await small.gql(CREATE, { input: { name: 'big' } }, person.token);
      const datasetId = created.data?.createDataset.id;
      const content = `n\n${'1234567\n'.repeat(200_000)}`;
      const res = await small.upload(
        UPLOAD,
        { datasetId },
        { name: 'big.csv', content },
        person.token,
      );
      expect(res.data?.uploadDatasetVersion).toMatchObject({
        __typename: 'DatasetInputError',
        reason: 'TOO_LARGE',
      });
      const versions = await small.gql(
        'query($id: ID!) { dataset(id: $id) { versions { number } } }',
        { id: datasetId },
        person.token,
      );
      expect(versions.data?.dataset.versions).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('refuses VIEWERs and hides datasets from other organizations', async () => {
    const id = await createDataset('private');
    const outsider = await signUpOwner(server, 'outsider');
    const res = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'x.csv', content: 'a\n1\n' },
      outsider.token,
    );
    expect(res.data?.uploadDatasetVersion).toMatchObject({ __typename: 'NotFoundError' });
    const read = await server.gql(
      'query($id: ID!) { dataset(id: $id) { name } }',
      { id },
      outsider.token,
    );
    expect(read.data?.dataset).toBeNull();
    const list = await server.gql('{ datasets { edges { node { name } } } }', {}, outsider.token);
    expect(list.data?.datasets.edges).toEqual([]);
    const key = await server.gql(
      'mutation { createApiKey(input: { name: "v", role: VIEWER }) { ... on CreateApiKeyPayload { secret } } }',
      {},
      owner.token,
    );
    const viewer = key.data?.createApiKey.secret;
    const denied = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'x.csv', content: 'a\n1\n' },
      viewer,
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('versions and dataset administration', () => {
  it('diffs two versions', async () => {
    const id = await createDataset('evolving');
    const v1 = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'a.csv', content: 'id,price,old\n1,2,x\n2,3,y\n' },
      owner.token,
    );
    const v2 = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'b.csv', content: 'id,price,region\n1,2.5,EU\n' },
      owner.token,
    );
    const res = await server.gql(
      `query($id: ID!, $against: ID!) { node(id: $id) { ... on DatasetVersion { diff(against: $against) {
        addedColumns { name } removedColumns { name } retypedColumns { name from to } rowCountChange } } } }`,
      { id: v2.data?.uploadDatasetVersion.id, against: v1.data?.uploadDatasetVersion.id },
      owner.token,
    );
    expect(res.data?.node.diff).toEqual({
      addedColumns: [{ name: 'region' }],
      removedColumns: [{ name: 'old' }],
      retypedColumns: [{ name: 'price', from: 'INTEGER', to: 'FLOAT' }],
      rowCountChange: -1,
    });
  });

  it('updates, re-marks and deletes datasets with the right roles', async () => {
    const id = await createDataset('admin-ops');
    await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'a.csv', content: 'who,score\nann,1\nbob,2\n' },
      owner.token,
    );
    await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'a.csv', content: 'who,score\nann,3\n' },
      owner.token,
    );
    const renamed = await server.gql(
      'mutation($id: ID!) { updateDataset(id: $id, input: { name: "renamed", tags: ["x"] }) { ... on Dataset { name tags } } }',
      { id },
      owner.token,
    );
    expect(renamed.data?.updateDataset).toEqual({ name: 'renamed', tags: ['x'] });

    const key = await server.gql(
      'mutation { createApiKey(input: { name: "a", role: ANALYST }) { ... on CreateApiKeyPayload { secret } } }',
      {},
      owner.token,
    );
    const analyst = key.data?.createApiKey.secret;
    const setSensitivity =
      'mutation($id: ID!) { setColumnSensitivity(datasetId: $id, column: "who", sensitivity: SECRET) { __typename ... on Dataset { versions { columns { name sensitivity } } } } }';
    const denied = await server.gql(setSensitivity, { id }, analyst);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const marked = await server.gql(setSensitivity, { id }, owner.token);
    const who = marked.data?.setColumnSensitivity.versions.map(
      (v: any) => v.columns.find((c: any) => c.name === 'who').sensitivity,
    );
    expect(who).toEqual(['SECRET', 'SECRET']);

    const tables = await tableCount();
    const del = 'mutation($id: ID!) { deleteDataset(id: $id) { __typename } }';
    expect((await server.gql(del, { id }, analyst)).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await server.gql(del, { id }, owner.token)).data?.deleteDataset.__typename).toBe(
      'Dataset',
    );
    expect(await tableCount()).toBe(tables - 2);
    const gone = await server.gql(
      'query($id: ID!) { dataset(id: $id) { name } }',
      { id },
      owner.token,
    );
    expect(gone.data?.dataset).toBeNull();
  });
});

describe('Subscription.datasetIngestion', () => {
  const PROGRESS = `subscription($id: ID!) { datasetIngestion(datasetId: $id) {
    versionId status rows bytes totalBytes percent rowsPerSecond error } }`;

  async function waitFor(check: () => boolean, what: string, poke?: () => Promise<void>) {
    const deadline = Date.now() + 15_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await poke?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('streams progress then READY over a real WebSocket, and FAILED for a bad file', async () => {
    const id = await createDataset('streamed');
    const sub = subscribe(server.ws(owner.token), PROGRESS, { id });
    // The subscription has no acknowledgement: upload small files until one is seen, so the
    // stream is known to be live before the upload under test.
    await waitFor(
      () => sub.events.length > 0,
      'the subscription to go live',
      async () => {
        await server.upload(
          UPLOAD,
          { datasetId: id },
          { name: 'probe.csv', content: 'n,sq\n0,0\n' },
          owner.token,
        );
      },
    );
    const csv = `n,sq\n${Array.from({ length: 30_000 }, (_, i) => `${i},${i * i}`).join('\n')}\n`;
    const res = await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'big.csv', content: csv },
      owner.token,
    );
    const version = res.data?.uploadDatasetVersion;
    const ofUpload = () =>
      sub.events.map((e) => e.data.datasetIngestion).filter((e) => e.versionId === version.id);
    await waitFor(() => ofUpload().some((e) => e.status === 'READY'), 'READY');
    const events = ofUpload();
    const ready = events.at(-1);
    expect(ready).toMatchObject({
      status: 'READY',
      rows: 30_000,
      percent: 100,
      versionId: version.id,
      error: null,
    });
    expect(ready.totalBytes).toBe(csv.length);
    expect(events.slice(0, -1).every((e: any) => e.status === 'LOADING' && e.rows <= 30_000)).toBe(
      true,
    );

    await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'bad.csv', content: 'a,b\n1,2\n3\n' },
      owner.token,
    );
    const failure = () =>
      sub.events.map((e) => e.data.datasetIngestion).find((e) => e.status === 'FAILED');
    await waitFor(() => failure() !== undefined, 'FAILED');
    const failed = failure();
    expect(failed.error).toMatch(/Line 3/);
    sub.dispose();
  });

  it("refuses a subscription to another organization's dataset", async () => {
    const id = await createDataset('watched');
    const outsider = await signUpOwner(server, 'spy');
    const sub = subscribe(server.ws(outsider.token), PROGRESS, { id });
    await sub.done;
    const errors = [
      ...sub.events.flatMap((e: any) => e.errors ?? []),
      ...(sub.errors.flat() as any[]),
    ];
    expect(errors.map((e: any) => e.extensions?.code)).toContain('NOT_FOUND');
    await server.upload(
      UPLOAD,
      { datasetId: id },
      { name: 'a.csv', content: 'a\n1\n' },
      owner.token,
    );
    expect(sub.events.filter((e: any) => e.data)).toEqual([]);
  });
});
