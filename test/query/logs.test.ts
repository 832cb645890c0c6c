import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { inviteMember, signUpOwner, startTestServer, type TestServer } from '../helpers/server';
import { customers, loadCustomers, QUERY, SEARCH, SET_POLICY } from './fixtures';

let server: TestServer;
const lines: string[] = [];

beforeAll(async () => {
  // Everything the server logs, at the most detailed level, kept for inspection.
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  server = await startTestServer({}, { log: createLogger('trace', sink) });
});
afterAll(() => server?.close());

it('no log line carries a value of a masked column, whatever the caller tries', async () => {
  const owner = await signUpOwner(server, 'logs');
  const { datasetId } = await loadCustomers(server, owner.token);
  const analyst = await inviteMember(server, owner.token, 'ANALYST');
  await server.gql(
    SET_POLICY,
    { input: { datasetId, role: 'ANALYST', columnRules: [{ column: 'notes', rule: 'HIDE' }] } },
    owner.token,
  );
  const all = customers();
  const email = all[0]!.email;
  const attempts: Array<[string, Record<string, unknown>]> = [
    [QUERY, { id: datasetId, input: {} }],
    [QUERY, { id: datasetId, input: { where: { column: 'email', eq: email } } }],
    [QUERY, { id: datasetId, input: { where: { column: 'email', in: [email, 'x'] } } }],
    [QUERY, { id: datasetId, input: { orderBy: [{ column: 'name' }] } }],
    [QUERY, { id: datasetId, input: { where: { column: 'id', eq: email } } }],
    [QUERY, { id: datasetId, input: { select: ['notes'] } }],
    [SEARCH, { id: datasetId, text: email }],
    [
      `mutation($id: ID!, $input: DatasetQueryInput!) { exportQuery(datasetId: $id, input: $input, format: CSV) { __typename ... on ExportLink { url } } }`,
      { id: datasetId, input: {} },
    ],
  ];
  for (const [query, variables] of attempts) await server.gql(query, variables, analyst.token);
  const link = await server.gql(attempts.at(-1)![0], attempts.at(-1)![1], analyst.token);
  await (await fetch(link.data!.exportQuery.url)).text();

  // A bad value in a PII column is reported without the value.
  await server.upload(
    `mutation($d: ID!, $file: File!, $o: UploadOptions) { uploadDatasetVersion(datasetId: $d, file: $file, options: $o) { __typename } }`,
    { d: datasetId, o: { typeOverrides: [{ column: 'email', type: 'INTEGER' }] } },
    { name: 'c.csv', content: `id,email\n1,${email}\n` },
    owner.token,
  );

  expect(lines.length).toBeGreaterThan(10);
  const log = lines.join('');
  for (const c of all) {
    expect(log).not.toContain(c.email);
    expect(log).not.toContain(c.notes);
  }
});
