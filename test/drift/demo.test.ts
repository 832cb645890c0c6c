import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { datasetVersions } from '../../db/schema/datasets';
import { driftAlerts, driftReports } from '../../db/schema/drift';
import { seedDemoDrift } from '../../src/drift/demo';
import { createLogger } from '../../src/log';
import { signUpOwner, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
}, 60_000);

afterAll(() => server?.close());

const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;

it('the demo leaves a drift report with an alert, from the later period of the stocks series', async () => {
  const owner = await signUpOwner(server, 'demo-drift');
  const created = await server.gql(
    `mutation { createDataset(input: { name: "stocks" }) { __typename ... on Dataset { id } } }`,
    {},
    owner.token,
  );
  const datasetId = created.data!.createDataset.id as string;
  const file = join(
    createRequire(import.meta.url).resolve('vega-datasets'),
    '../../data/stocks.csv',
  );
  const uploaded = await server.upload(
    `mutation($d: ID!, $file: File!) { uploadDatasetVersion(datasetId: $d, file: $file) {
      __typename ... on DatasetVersion { id } ... on Error { code message } } }`,
    { d: datasetId },
    { name: 'stocks.csv', content: await readFile(file, 'utf8') },
    owner.token,
  );
  expect(uploaded.data?.uploadDatasetVersion.__typename, JSON.stringify(uploaded)).toBe(
    'DatasetVersion',
  );
  const db = server.database.db;
  const [version] = await db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.id, raw(uploaded.data!.uploadDatasetVersion.id)));
  const report = await seedDemoDrift(
    {
      database: server.database,
      config: server.config,
      log: createLogger('silent'),
      events: server.platform.events,
      jobs: server.platform.jobs,
    },
    { orgId: raw(owner.organizationId), userId: raw(owner.userId) },
    version!,
  );
  for (;;) {
    const [row] = await db.select().from(driftReports).where(eq(driftReports.id, report.id));
    if (row!.status === 'SUCCEEDED' || row!.status === 'FAILED') {
      expect(row!.status, row!.error ?? '').toBe('SUCCEEDED');
      expect(row!.drifted).toBe(true);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const alerts = await db.select().from(driftAlerts).where(eq(driftAlerts.reportId, report.id));
  expect(alerts).toHaveLength(1);
  expect(alerts[0]!.columns).toContain('price');
});
