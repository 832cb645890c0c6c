import { randomBytes } from 'node:crypto';
import { type Database, openDatabase } from '../db/client';
import { scratchDatabase } from '../db/scratch';
import { signUp } from '../src/auth/service';
import { resolveViewer } from '../src/auth/viewer';
import { type Config, loadConfig } from '../src/config';
import { type AuthedContext, contextFor } from '../src/context';
import type { WriterContext } from '../src/datasets/writer';
import { seedDemoOrganization } from '../src/demo/seed';
import { createEventBus } from '../src/events/bus';
import { lazyJobQueue } from '../src/jobs/queue';
import { createLogger } from '../src/log';
import { type Platform, startPlatform } from '../src/platform';
import { graphql } from './http';

/** A scratch database (`BENCH_DATABASE_URL`, else PGlite) and a config over it, quiet. */
async function scratchConfig(env: Record<string, string>) {
  const scratch = await scratchDatabase(process.env.BENCH_DATABASE_URL);
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    PESO_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    ...env,
  });
  return { scratch, config, database: await openDatabase(config.database) };
}

export interface BenchOwner {
  config: Config;
  database: Database;
  deps: Parameters<typeof contextFor>[0];
  /** A context of the owner, for calling services in this process. */
  ctx: AuthedContext;
  writer: WriterContext;
  /** The owner's token, for requests over HTTP. */
  token: string;
  close(): Promise<void>;
}

/**
 * A scratch database with one signed-up owner and a context as that owner (its bus and a lazy
 * job queue), for benchmarks that call services in process.
 */
export async function benchOwner(
  label: string,
  env: Record<string, string> = {},
): Promise<BenchOwner> {
  const { scratch, config, database } = await scratchConfig(env);
  const log = createLogger('silent');
  const events = createEventBus(database, undefined, log);
  const jobs = lazyJobQueue(database, config, log);
  await events.ready;
  const session = await signUp(
    { db: database.db, config },
    {
      email: `bench@${label}.local`,
      password: 'bench password 1',
      name: 'bench',
      organizationName: `${label} bench`,
    },
  );
  const viewer = (await resolveViewer(database.db, config.secret, `Bearer ${session.token}`))!;
  const deps = { database, config, log, events, jobs };
  return {
    config,
    database,
    deps,
    ctx: contextFor(deps, viewer, `bench-${label}`) as AuthedContext,
    writer: { database, viewer, log, jobs, events },
    token: session.token,
    close: async () => {
      await jobs.stop().catch(() => {});
      await events.close();
      await database.close();
      await scratch.drop();
    },
  };
}

export interface BenchPlatform {
  config: Config;
  database: Database;
  platform: Platform;
  /** …/graphql of the running platform. */
  endpoint: string;
  /** The demo owner's token. */
  token: string;
  /** The demo API key (a policy must name a dataset before it reads it). */
  apiKey: string;
  close(): Promise<void>;
}

/**
 * The platform as `npm start` runs it (server and `workers` pool processes) over a scratch
 * database with the demo organization (no demo datasets), signed in as its owner. Rate limits
 * are lifted: benchmarks send thousands of requests a second from one key and address.
 */
export async function benchPlatform(workers = 1): Promise<BenchPlatform> {
  const { scratch, config, database } = await scratchConfig({
    PESO_DEMO: 'off',
    PESO_WORKERS: String(workers),
    PESO_RATE_LIMIT_PER_KEY: '100000000',
    PESO_RATE_LIMIT_PER_ADDRESS: '100000000',
    PESO_RATE_LIMIT_PER_USER: '100000000',
  });
  const demo = (await seedDemoOrganization(database.db))!;
  const platform = await startPlatform({
    config,
    database,
    log: createLogger('silent'),
    port: 0,
    host: '127.0.0.1',
  });
  const endpoint = `${platform.server.url}/graphql`;
  const login = await graphql(
    endpoint,
    null,
    'mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload { token } } }',
    { i: { email: demo.email, password: demo.password } },
  );
  return {
    config,
    database,
    platform,
    endpoint,
    token: login.data!.login.token as string,
    apiKey: demo.apiKey,
    close: async () => {
      await platform.close();
      await database.close();
      await scratch.drop();
    },
  };
}
