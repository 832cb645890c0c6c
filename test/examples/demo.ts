import { contextFor } from '../../src/context';
import { seedDemoConversations } from '../../src/conversations/demo';
import { DEMO_DATASETS, seedDemoDatasets, seedDemoOrganization } from '../../src/demo/seed';
import { seedDemoDrift } from '../../src/drift/demo';
import { createLogger } from '../../src/log';
import { startTestServer, type TestServer } from '../helpers/server';

export interface DemoServer {
  server: TestServer;
  email: string;
  password: string;
  apiKey: string;
  /** Global ids of the demo datasets by name. */
  datasets: Map<string, { id: string; versions: string[] }>;
}

/**
 * A real server with the demo data `npm start` loads on a first start (same seed functions, in
 * the same order as src/main.ts): the demo organization, its owner and ADMIN key, the
 * vega-datasets and the generated campaigns, the drift report on stocks and the generated
 * conversations.
 */
export async function startDemoServer(env: Record<string, string> = {}): Promise<DemoServer> {
  const server = await startTestServer({ PESO_WORKERS: '1', ...env });
  const deps = {
    database: server.database,
    config: server.config,
    log: createLogger('silent'),
    events: server.platform.events,
    jobs: server.platform.jobs,
  };
  const demo = (await seedDemoOrganization(server.database.db))!;
  const versions = await seedDemoDatasets(
    {
      ...contextFor(deps, null, 'demo-seed'),
      viewer: {
        kind: 'USER',
        orgId: demo.orgId,
        role: 'OWNER',
        userId: demo.userId,
        apiKeyId: null,
        membershipId: null,
        attributes: {},
        expiresAt: null,
      },
    },
    demo.apiKeyId,
  );
  const stocks = versions[DEMO_DATASETS.findIndex((d) => d.name === 'stocks')]!;
  await seedDemoDrift(deps, demo, stocks);
  await seedDemoConversations(server.database.db, demo.orgId, demo.apiKeyId);

  const listed = await server.gql(
    `{ datasets(first: 50) { edges { node { id name versions { id number } } } } }`,
    {},
    demo.apiKey,
  );
  const datasets = new Map<string, { id: string; versions: string[] }>();
  for (const { node } of listed.data?.datasets.edges ?? []) {
    const byNumber = [...node.versions].sort((a: any, b: any) => a.number - b.number);
    datasets.set(node.name, { id: node.id, versions: byNumber.map((v: any) => v.id) });
  }
  if (datasets.size !== versions.length) throw new Error(JSON.stringify(listed));
  return { server, email: demo.email, password: demo.password, apiKey: demo.apiKey, datasets };
}
