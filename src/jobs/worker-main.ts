/**
 * `npm run worker`: a standalone worker for every job kind, e.g. on a GPU host. It claims jobs
 * from the platform's PostgreSQL (DATABASE_URL), reads data through the access gate as the
 * person who started each run, does the CPU-heavy part in child processes (PESO_WORKERS of them,
 * default 1), and publishes progress over LISTEN/NOTIFY to every API process. SIGTERM or SIGINT:
 * each busy child finishes its step and its job goes back to the queue.
 */
import { openDatabase } from '../../db/client';
import { ConfigError, loadConfig } from '../config';
import { createEventBus } from '../events/bus';
import { jobDomains } from '../job-kinds';
import { createLogger } from '../log';
import { startJobQueue } from './queue';
import { queueOptionsOf, startWorkers } from './workers';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`peso worker: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.database.kind !== 'postgres') {
    process.stderr.write(
      'peso worker: set DATABASE_URL=postgres://… — the embedded database belongs to the API process, whose own workers (PESO_WORKERS) train for it.\n',
    );
    process.exit(1);
  }
  const log = createLogger(config.logLevel, undefined, config.logFormat).child({ role: 'worker' });
  const database = await openDatabase(config.database);
  const events = createEventBus(database, config.redisUrl, log);
  await events.ready;
  const jobs = await startJobQueue(database, config.database.url, log, queueOptionsOf(jobDomains));
  const size = Math.max(1, config.workers);
  const workers = await startWorkers({ config, database, log, events, jobs }, jobs, jobDomains, {
    size,
  });
  log.info(
    { processes: size, kinds: jobDomains.flatMap((d) => d.kinds.map((k) => k.name)) },
    'worker ready',
  );
  process.stdout.write(`Peso worker ready: ${size} pool process(es)\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker stopping: finishing current steps');
    await workers.stop();
    await jobs.stop();
    await events.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `peso worker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
