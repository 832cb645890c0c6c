/**
 * The statement timeout of dataset queries, per role, on PostgreSQL: a VIEWER whose role allows
 * 1 ms gets QUERY_TIMEOUT (not an internal error) for a sort over 100,000 rows that an ADMIN
 * (default timeout) runs to the end; the pooled connection keeps no timeout afterwards. PGlite
 * has no statement timer (see README, Security): there the cost budget is the bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../db/client';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  type TestServer,
  usingPostgres,
} from '../helpers/server';

const CREATE = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) {
  __typename ... on Dataset { id } ... on Error { code message } } }`;
const UPLOAD = `mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) {
  __typename ... on DatasetVersion { id } ... on Error { code message } } }`;
const MEDIAN = `query($id: ID!) { datasetQuery(datasetId: $id, input: {
  aggregates: [{ function: MEDIAN, column: "n" }, { function: COUNT_DISTINCT, column: "n" }] }) {
  __typename ... on QueryResult { rows } ... on Error { code message } } }`;

describe.skipIf(!usingPostgres)('statement timeout per role (PostgreSQL)', () => {
  let server: TestServer;
  let owner: Awaited<ReturnType<typeof signUpOwner>>;
  let viewer: string;
  let datasetId: string;

  beforeAll(async () => {
    server = await startTestServer({ PESO_QUERY_TIMEOUT_MS_BY_ROLE: 'VIEWER=1' });
    owner = await signUpOwner(server, 'timeout');
    viewer = (await inviteMember(server, owner.token, 'VIEWER')).token;
    const created = await server.gql(CREATE, { input: { name: 'big' } }, owner.token);
    datasetId = created.data!.createDataset.id;
    const rows = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 100_003);
    const up = await server.upload(
      UPLOAD,
      { datasetId },
      { name: 'n.csv', content: `n\n${rows.join('\n')}\n` },
      owner.token,
    );
    expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
  });

  afterAll(async () => {
    await server?.close();
  });

  it('answers QUERY_TIMEOUT to the role with the short timeout, and runs for the others', async () => {
    const slow = await server.gql(MEDIAN, { id: datasetId }, viewer);
    expect(slow.errors?.[0]?.extensions?.code, JSON.stringify(slow)).toBe('QUERY_TIMEOUT');
    expect(slow.errors![0]!.message).toContain('VIEWER');
    const admin = await server.gql(MEDIAN, { id: datasetId }, owner.token);
    expect(admin.errors, JSON.stringify(admin)).toBeUndefined();
    expect(admin.data!.datasetQuery.__typename).toBe('QueryResult');
  });

  it('leaves no timeout on the pooled connections', async () => {
    await server.gql(MEDIAN, { id: datasetId }, viewer);
    const settings = await Promise.all(
      Array.from({ length: 12 }, () =>
        query<{ statement_timeout: string }>(server.database, 'show statement_timeout'),
      ),
    );
    for (const [row] of settings) expect(row!.statement_timeout).toBe('0');
  });
});
