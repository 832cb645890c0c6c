import { randomBytes } from 'node:crypto';
import { openDatabase } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { loadConfig } from '../src/config';
import { seedDemoOrganization } from '../src/demo/seed';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { percentile } from './http';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1000);

/** Times `a` and `b` alternately, so a busy machine weighs on both alike. */
async function timePair(rounds: number, a: () => Promise<unknown>, b: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(100, rounds); i++) await Promise.all([a(), b()]);
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < rounds; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const t = performance.now();
      await fn();
      samples[k]!.push(performance.now() - t);
    }
  }
  return samples.map((list) => {
    list.sort((x, y) => x - y);
    const total = list.reduce((sum, x) => sum + x, 0);
    return {
      perSecond: (list.length / total) * 1000,
      p50: percentile(list, 50),
      p99: percentile(list, 99),
    };
  }) as [Stats, Stats];
}

interface Stats {
  perSecond: number;
  p50: number;
  p99: number;
}

/** The document sofa builds for `GET /api/v1/datasets/{id}` (the REST projection's fields). */
const DATASET = `query dataset_query($id: ID!) { dataset(id: $id) { createdAt
  currentVersion { columns { access distinctEstimate name nullable piiKind position sensitivity type }
  createdAt id number rowCount source } description id name tags updatedAt } }`;

/**
 * `GET /api/v1/datasets/{id}` against its baseline, the same document POSTed to `/graphql`,
 * alternating request by request on one server: what the REST layer (routing, sofa's variable parsing,
 * the typed-error check) adds to a GraphQL request.
 */
export async function benchRest(): Promise<void> {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    PESO_RATE_LIMIT_PER_KEY: '1000000',
    PESO_RATE_LIMIT_PER_ADDRESS: '1000000',
  });
  const database = await openDatabase(config.database);
  const demo = (await seedDemoOrganization(database.db))!;
  const server = await startServer({
    config,
    database,
    log: createLogger('silent'),
    port: 0,
    host: '127.0.0.1',
  });
  const gql = async (query: string, variables: object, token?: string) => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return ((await res.json()) as { data: Record<string, any> }).data;
  };
  const { login } = await gql(
    'mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { token } } }',
    { input: { email: demo.email, password: demo.password } },
  );
  const headers = { authorization: `Bearer ${login.token}` };
  const { createDataset } = await gql(
    'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { ... on Dataset { id } } }',
    { input: { name: 'bench' } },
    login.token,
  );
  const id = createDataset.id as string;
  const form = new FormData();
  const upload = `mutation($id: ID!, $file: File!) { uploadDatasetVersion(datasetId: $id, file: $file) { __typename } }`;
  form.set('operations', JSON.stringify({ query: upload, variables: { id, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  const csv = `a,b,c\n${Array.from({ length: 100 }, (_, i) => `${i},x${i % 7},${i / 3}`).join('\n')}\n`;
  form.set('0', new Blob([csv]), 'bench.csv');
  await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'x-graphql-yoga-csrf': '1' },
    body: form,
  });
  const body = JSON.stringify({ query: DATASET, variables: { id } });

  const rest = () =>
    fetch(`${server.url}/api/v1/datasets/${encodeURIComponent(id)}`, { headers }).then((r) =>
      r.json(),
    );
  const graphql = () =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    }).then((r) => r.json());
  const [a, b] = await Promise.all([rest(), graphql()]);
  if (JSON.stringify(a) !== JSON.stringify((b as { data: { dataset: unknown } }).data.dataset))
    throw new Error('REST and GraphQL answers differ');

  const [viaRest, viaGraphql] = await timePair(ROUNDS, rest, graphql);
  await server.close();
  await database.close();
  await scratch.drop();

  const fmt = (n: number) => n.toFixed(2);
  console.log(`rest (${database.kind}, ${ROUNDS} sequential requests each)`);
  console.log(
    `  GET /api/v1/datasets/{id}: ${viaRest.perSecond.toFixed(0)} req/s, p50 ${fmt(viaRest.p50)} ms, p99 ${fmt(viaRest.p99)} ms`,
  );
  console.log(
    `  POST /graphql (same doc):  ${viaGraphql.perSecond.toFixed(0)} req/s, p50 ${fmt(viaGraphql.p50)} ms, p99 ${fmt(viaGraphql.p99)} ms`,
  );
  console.log(`  REST / GraphQL p50: ${(viaRest.p50 / viaGraphql.p50).toFixed(2)}`);
}
