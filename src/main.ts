import { openDatabase } from '../db/client';
import { ConfigError, loadConfig } from './config';
import { contextFor } from './context';
import { seedDemoConversations } from './conversations/demo';
import { DEMO_DATASETS, seedDemoDatasets, seedDemoOrganization } from './demo/seed';
import { seedDemoDrift } from './drift/demo';
import { InstanceLockedError, lockDataDir } from './instance-lock';
import { createLogger } from './log';
import { startPlatform } from './platform';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`peso: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel, undefined, config.logFormat);
  const lock =
    config.database.kind === 'pglite' && config.database.dataDir !== null
      ? lockDataDir(config.dataDir)
      : null;
  process.on('exit', () => lock?.release());
  const database = await openDatabase(config.database);
  log.info({ database: config.database.kind }, 'database ready');

  const platform = await startPlatform({ config, database, log });
  const { server } = platform;
  lock?.serving(server.url);
  const demo = await seedDemoOrganization(database.db);
  if (demo && config.demo) {
    const started = performance.now();
    const versions = await seedDemoDatasets(
      {
        ...contextFor(
          { database, config, log, events: platform.events, jobs: platform.jobs },
          null,
          'demo-seed',
        ),
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
    const rows = versions.reduce((sum, v) => sum + v.rowCount, 0);
    log.info(
      { datasets: versions.length, rows, ms: Math.round(performance.now() - started) },
      'demo datasets loaded',
    );
    const stocks = versions[DEMO_DATASETS.findIndex((d) => d.name === 'stocks')]!;
    const drift = await seedDemoDrift(
      { database, config, log, events: platform.events, jobs: platform.jobs },
      demo,
      stocks,
    );
    log.info({ reportId: drift.id }, 'demo drift check queued');
    const conversations = await seedDemoConversations(database.db, demo.orgId, demo.apiKeyId);
    log.info({ conversations }, 'generated demo conversations loaded');
  }

  if (demo) {
    process.stdout.write(
      [
        '',
        'Peso created a demo organization. Sign in with (shown only this once):',
        `  email:    ${demo.email}`,
        `  password: ${demo.password}`,
        `  API key:  ${demo.apiKey}`,
        '',
        `  curl -s ${server.url}/graphql -H 'content-type: application/json' \\`,
        `    -H 'authorization: Bearer ${demo.apiKey}' -d '{"query":"{ viewer { id role } }"}'`,
        '',
      ].join('\n'),
    );
  }
  process.stdout.write(
    `\nPeso is running: GraphiQL at ${server.url}/graphql, dashboard at ${server.url}/dashboard\n\n`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await platform.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message =
    error instanceof InstanceLockedError
      ? error.message
      : code === 'EADDRINUSE'
        ? `port ${process.env.PORT ?? 4000} is in use (another Peso, or another program): stop it or set PORT`
        : `failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`peso: ${message}\n`);
  process.exit(1);
});
