import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { openDatabase } from '../db/client';
import { apiKeys, memberships } from '../db/schema/auth';
import { scratchDatabase } from '../db/scratch';
import { parseApiKey } from '../src/auth/api-keys';
import { loadConfig } from '../src/config';
import { seedDemoOrganization } from '../src/demo/seed';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { percentile } from './http';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);

async function time(rounds: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(100, rounds); i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  const total = performance.now() - start;
  samples.sort((a, b) => a - b);
  return {
    perSecond: (rounds / total) * 1000,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
  };
}

/**
 * `{ viewer { id role } }` over HTTP with an API key, against the baseline of the same two
 * lookups (key by prefix, then its organization's membership count) issued directly through the
 * same database driver: what authentication and the GraphQL layer cost per request.
 */
export async function benchViewer(): Promise<void> {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    // Thousands of requests a second from one key: counted by the rate limiter, never refused.
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
  const body = JSON.stringify({ query: '{ viewer { id role } }' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${demo.apiKey}` };
  const prefix = parseApiKey(demo.apiKey)!.prefix;

  const graphql = await time(ROUNDS, async () => {
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body });
    await res.json();
  });
  const baseline = await time(ROUNDS, async () => {
    const [key] = await database.db.select().from(apiKeys).where(eq(apiKeys.prefix, prefix));
    await database.db.select().from(memberships).where(eq(memberships.orgId, key!.orgId)).limit(1);
  });
  await server.close();
  await database.close();
  await scratch.drop();

  const fmt = (n: number) => n.toFixed(2);
  console.log(`viewer (${database.kind}, ${ROUNDS} sequential requests)`);
  console.log(
    `  GraphQL over HTTP: ${graphql.perSecond.toFixed(0)} req/s, p50 ${fmt(graphql.p50)} ms, p99 ${fmt(graphql.p99)} ms`,
  );
  console.log(
    `  direct SQL:        ${baseline.perSecond.toFixed(0)} req/s, p50 ${fmt(baseline.p50)} ms, p99 ${fmt(baseline.p99)} ms`,
  );
  console.log(`  ratio (GraphQL p50 / SQL p50): ${fmt(graphql.p50 / baseline.p50)}`);
}
