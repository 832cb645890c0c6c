import { PgBoss } from 'pg-boss';
import type { Database } from '../../db/client';
import type { Config } from '../config';
import type { Logger } from '../log';

export const TRAIN_QUEUE = 'peso-train';

/** The job queue (pg-boss in the platform's own database) as the rest of Peso sees it. */
export interface JobQueue {
  /** Queues a training run; workers claim it. */
  sendTraining(runId: string): Promise<void>;
  /** Runs `handler` for each claimed training job, at most `concurrency` at once. */
  workTraining(concurrency: number, handler: (runId: string) => Promise<void>): Promise<void>;
  /** Stops claiming new jobs (jobs in hand finish). */
  stopWorking(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * pg-boss over PGlite goes through its `db` adapter (one connection: parameterless scripts via
 * `exec`, the rest via `query`); over PostgreSQL it uses its own small pool.
 */
export async function startJobQueue(
  database: Database,
  connectionString: string | null,
  log: Logger,
): Promise<JobQueue> {
  const boss =
    database.kind === 'pglite'
      ? new PgBoss({
          db: {
            executeSql: async (text: string, values?: unknown[]) => {
              if (values && values.length > 0) return database.pglite.query(text, values);
              // pg-boss reads rows from any statement of a script (its claim is one).
              const results = await database.pglite.exec(text);
              return { rows: results.flatMap((r) => r.rows) };
            },
          },
          schedule: false,
        })
      : new PgBoss({ connectionString: connectionString!, max: 3, schedule: false });
  boss.on('error', (error: unknown) => log.warn({ err: error }, 'job queue error'));
  await boss.start();
  if (!(await boss.getQueue(TRAIN_QUEUE))) {
    try {
      // No pg-boss retries: Peso decides itself whether a lost run is failed or handed back.
      await boss.createQueue(TRAIN_QUEUE, { retryLimit: 0, expireInSeconds: 24 * 60 * 60 });
    } catch (error) {
      // Another process created it at the same moment.
      if (!(await boss.getQueue(TRAIN_QUEUE))) throw error;
    }
  }
  let working = false;
  return {
    async sendTraining(runId) {
      // A duplicate job is harmless: a run is claimed atomically by its QUEUED status.
      await boss.send(TRAIN_QUEUE, { runId });
    },
    async workTraining(concurrency, handler) {
      working = true;
      await boss.work<{ runId: string }>(
        TRAIN_QUEUE,
        { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          if (job) await handler(job.data.runId);
        },
      );
    },
    async stopWorking() {
      if (working) await boss.offWork(TRAIN_QUEUE, { wait: true });
      working = false;
    },
    async stop() {
      await boss.stop({ graceful: true, close: true, timeout: 30_000 });
    },
  };
}

/**
 * The job queue, started on first use: a process that runs no workers and never trains pays
 * nothing for it.
 */
export function lazyJobQueue(database: Database, config: Config, log: Logger): JobQueue {
  let queue: Promise<JobQueue> | null = null;
  const get = () => {
    queue ??= startJobQueue(
      database,
      config.database.kind === 'postgres' ? config.database.url : null,
      log,
    );
    return queue;
  };
  return {
    sendTraining: async (runId) => (await get()).sendTraining(runId),
    workTraining: async (n, handler) => (await get()).workTraining(n, handler),
    stopWorking: async () => {
      if (queue) await (await queue).stopWorking();
    },
    stop: async () => {
      if (queue) await (await queue).stop();
    },
  };
}
