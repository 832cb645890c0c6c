/**
 * The visibility rule, in one place: members see every dataset of their org; an API key sees
 * only datasets a policy names it in — through every way a dataset can be reached (list, by
 * id, as a node, its version, its rows, its models), and never another org's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleUnder } from '../../src/access/visibility';
import type { Viewer } from '../../src/auth/viewer';
import { createApiKey, signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let named: string;
let unnamed: string;
let versionId: string;
const dataset = { id: '', otherId: '' };

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const SET_POLICY = `mutation($input: DatasetPolicyInput!) { setDatasetPolicy(input: $input) {
  __typename ... on DatasetPolicy { id } ... on Error { code message } } }`;
const READS = `query($id: ID!, $versionId: ID!) {
  datasets(first: 50) { edges { node { id } } }
  dataset(id: $id) { id }
  node(id: $id) { id }
  version: node(id: $versionId) { id }
}`;
const ROWS = `query($id: ID!) { datasetQuery(datasetId: $id, input: {}) {
  __typename ... on QueryResult { rows } ... on Error { code } } }`;

async function createWithRows(token: string, name: string) {
  const created = await server.gql(CREATE, { input: { name } }, token);
  const id = created.data!.createDataset.id as string;
  const up = await server.upload(
    UPLOAD,
    { datasetId: id },
    { name: 'a.csv', content: 'a,b\n1,x\n2,y\n' },
    token,
  );
  expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  return { id, versionId: up.data!.uploadDatasetVersion.id as string };
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOwner(server, 'visibility');
  const made = await createWithRows(owner.token, 'named');
  dataset.id = made.id;
  versionId = made.versionId;
  const stranger = await signUpOwner(server, 'stranger');
  dataset.otherId = (await createWithRows(stranger.token, 'elsewhere')).id;
  const key = await createApiKey(server, owner.token, 'ANALYST');
  named = key.secret;
  unnamed = (await createApiKey(server, owner.token, 'ADMIN')).secret;
  const policy = await server.gql(
    SET_POLICY,
    { input: { datasetId: dataset.id, apiKeyId: key.id } },
    owner.token,
  );
  expect(policy.data?.setDatasetPolicy.__typename, JSON.stringify(policy)).toBe('DatasetPolicy');
}, 60_000);
afterAll(() => server?.close());

describe('dataset visibility', () => {
  it('a member sees every dataset of their org, and none of another', async () => {
    const res = await server.gql(READS, { id: dataset.id, versionId }, owner.token);
    expect(res.data?.datasets.edges.map((e: any) => e.node.id)).toEqual([dataset.id]);
    expect(res.data).toMatchObject({
      dataset: { id: dataset.id },
      node: { id: dataset.id },
      version: { id: versionId },
    });
    const other = await server.gql(READS, { id: dataset.otherId, versionId }, owner.token);
    expect(other.data).toMatchObject({ dataset: null, node: null });
  });

  it('an API key sees a dataset only where a policy names it, whatever its role', async () => {
    const seen = await server.gql(READS, { id: dataset.id, versionId }, named);
    expect(seen.data?.datasets.edges.map((e: any) => e.node.id)).toEqual([dataset.id]);
    expect(seen.data).toMatchObject({ dataset: { id: dataset.id }, version: { id: versionId } });
    const rows = await server.gql(ROWS, { id: dataset.id }, named);
    expect(rows.data?.datasetQuery.rows).toHaveLength(2);

    // An ADMIN key that no policy names: the dataset does not exist for it, by any path.
    const unseen = await server.gql(READS, { id: dataset.id, versionId }, unnamed);
    expect(unseen.data).toEqual({
      datasets: { edges: [] },
      dataset: null,
      node: null,
      version: null,
    });
    const denied = await server.gql(ROWS, { id: dataset.id }, unnamed);
    expect(denied.data?.datasetQuery).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
    const foreign = await server.gql(ROWS, { id: dataset.otherId }, named);
    expect(foreign.data?.datasetQuery).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
  });

  it('the in-memory form agrees: a key needs a policy, a member does not', () => {
    const base = {
      orgId: 'o',
      role: 'ADMIN',
      userId: null,
      membershipId: null,
      attributes: {},
      expiresAt: null,
    } as const;
    const key: Viewer = { ...base, kind: 'API_KEY', apiKeyId: 'k' };
    const member: Viewer = { ...base, kind: 'USER', userId: 'u', apiKeyId: null };
    const policy = {} as Parameters<typeof visibleUnder>[1];
    expect(visibleUnder(key, null)).toBe(false);
    expect(visibleUnder(key, policy)).toBe(true);
    expect(visibleUnder(member, null)).toBe(true);
  });
});
