import { afterAll, beforeAll, expect, it } from 'vitest';
import { PesoRequestError, runPartner } from '../../examples/partner-client';
import { createApiKey, signUpOwner, startTestServer, type TestServer } from '../helpers/server';

/**
 * examples/partner-client.ts against a live server: a partner's API key that a policy names
 * (with `email` masked), a dataset with a drift monitor, and a shifted upload that raises the
 * alert the client follows.
 */

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let datasetId: string;
let monitorId: string;
let partnerKey: string;

const people = (shift: number) =>
  `email,spend,region\n${Array.from(
    { length: 120 },
    (_, i) => `p${i}@example.com,${(i % 40) + shift},${['north', 'south', 'east'][i % 3]}`,
  ).join('\n')}\n`;

const gql = (query: string, variables: Record<string, unknown> = {}) =>
  server.gql(query, variables, owner.token);

async function upload(csv: string) {
  const res = await server.upload(
    `mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) {
      __typename ... on DatasetVersion { id } ... on Error { code message } } }`,
    { d: datasetId },
    { name: 'people.csv', content: csv },
    owner.token,
  );
  expect(res.data?.uploadDatasetVersion.__typename, JSON.stringify(res)).toBe('DatasetVersion');
  return res.data!.uploadDatasetVersion.id as string;
}

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'partner-owner');
  const created = await gql(
    `mutation { createDataset(input: { name: "people" }) { ... on Dataset { id } } }`,
  );
  datasetId = created.data!.createDataset.id;
  await upload(people(0));
  partnerKey = (await createApiKey(server, owner.token, 'VIEWER')).secret;
  const keys = await gql(`{ apiKeys(first: 10) { edges { node { id name } } } }`);
  const keyId = keys.data!.apiKeys.edges.at(-1).node.id;
  const policy = await gql(
    `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
      __typename ... on Error { code message } } }`,
    { input: { datasetId, apiKeyId: keyId, columnRules: [{ column: 'email', rule: 'MASK' }] } },
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
  const monitor = await gql(
    `mutation($input: DriftMonitorInput!) { createDriftMonitor(input: $input) {
      __typename ... on DriftMonitor { id } ... on Error { code message } } }`,
    { input: { name: 'people', datasetId, columns: [{ column: 'spend' }] } },
  );
  expect(monitor.data?.createDriftMonitor.__typename, JSON.stringify(monitor)).toBe('DriftMonitor');
  monitorId = monitor.data!.createDriftMonitor.id;
}, 120_000);

afterAll(() => server?.close());

it('refuses a key that is not valid, and shows a key no policy names no dataset', async () => {
  await expect(
    runPartner({ url: server.url, apiKey: 'peso_nope_nope', alerts: 0, print: () => {} }),
  ).rejects.toBeInstanceOf(PesoRequestError);
  const stranger = await createApiKey(server, owner.token, 'ADMIN');
  await expect(
    runPartner({ url: server.url, apiKey: stranger.secret, alerts: 0, print: () => {} }),
  ).rejects.toThrow('no dataset');
  // Another organization's key sees nothing of this one either.
  const other = await signUpOwner(server, 'partner-other');
  const theirs = await createApiKey(server, other.token, 'ADMIN');
  await expect(
    runPartner({ url: server.url, apiKey: theirs.secret, alerts: 0, print: () => {} }),
  ).rejects.toThrow('no dataset');
});

it('signs in with its API key, lists its datasets, reads rows masked, and follows a drift alert', async () => {
  const lines: string[] = [];
  let following!: () => void;
  const subscribed = new Promise<void>((resolve) => {
    following = resolve;
  });
  const partner = runPartner({
    url: server.url,
    apiKey: partnerKey,
    alerts: 1,
    following,
    print: (line) => lines.push(line),
  });
  let done = false;
  void partner.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  // A client that fails before it subscribes fails the test here, with its error.
  await Promise.race([subscribed, partner]);

  // Raise alerts until one reaches the client: a check runs after the upload, and once more
  // after each acknowledgement (the subscription may still be opening on the server).
  await upload(people(35));
  for (let round = 0; !done && round < 20; round++) {
    const checked = await gql(
      `mutation($id: ID!) { runDriftCheck(monitorId: $id) { __typename ... on DriftReport { id } } }`,
      { id: monitorId },
    );
    expect(checked.data?.runDriftCheck.__typename).toBe('DriftReport');
    for (let wait = 0; !done && wait < 40; wait++) await new Promise((r) => setTimeout(r, 100));
    const open = await gql(`{ driftAlerts(open: true) { id } }`);
    for (const alert of open.data!.driftAlerts)
      await gql(`mutation($id: ID!) { acknowledgeDriftAlert(id: $id) { __typename } }`, {
        id: alert.id,
      });
  }

  const result = await partner;
  expect(result.viewer).toMatchObject({ kind: 'API_KEY', role: 'VIEWER' });
  expect(result.datasets.map((d) => d.name)).toEqual(['people']);
  expect(result.rows).toHaveLength(5);
  for (const row of result.rows) {
    expect(row.email).toBe('***');
    expect(typeof row.spend).toBe('number');
  }
  expect(result.alerts).toHaveLength(1);
  expect(result.alerts[0]!.columns).toEqual(['spend']);
  expect(lines[0]).toBe('signed in as API_KEY VIEWER of partner-owner org');
  // Listed before the shifted upload.
  expect(lines).toContain('dataset people: 120 rows, version 1');
  expect(lines.at(-1)).toMatch(/^drift alert (LOW|MEDIUM|HIGH) on spend: /);
}, 180_000);

it('sends trusted-document hashes instead of text when asked', async () => {
  const manifest = await import('../../examples/generated/persisted-documents.json', {
    with: { type: 'json' },
  });
  const trustedServer = await startTestServer({
    PESO_TRUSTED_DOCUMENTS: new URL(
      '../../examples/generated/persisted-documents.json',
      import.meta.url,
    ).pathname,
  });
  try {
    expect(Object.keys(manifest.default).length).toBeGreaterThan(5);
    const someone = await signUpOwner(trustedServer, 'trusted');
    const key = await createApiKey(trustedServer, someone.token, 'ADMIN');
    // Listed documents run by hash; the key sees no dataset, which is the client's own error.
    await expect(
      runPartner({
        url: trustedServer.url,
        apiKey: key.secret,
        alerts: 0,
        trusted: true,
        print: () => {},
      }),
    ).rejects.toThrow('no dataset');
    // An unlisted document from the same key is refused.
    const unlisted = await trustedServer.gql('{ viewer { id } }', {}, key.secret);
    expect(unlisted.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
  } finally {
    await trustedServer.close();
  }
});
