import { PgBoss, type QueueOptions, type SendOptions } from 'pg-boss';
import { type Database, isDatabaseUnavailable } from '../../db/client';
import type { Config } from '../config';
import { errorSummary, type Logger } from '../log';

/**
 * Every job kind and its payload, composed from the domains: each declares its own kinds next
 * to its handlers (`declare module '../jobs/queue' { interface Jobs { … } }`), so this runtime
 * knows none of them and every `send`/`work`/`schedule` is still typed.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in the domains.
export interface Jobs {}
export type JobName = keyof Jobs & string;

/** What a job kind asks of its queue (pg-boss queue options), set once per kind. */
export type JobQueueOptions = Pick<QueueOptions, 'retryLimit' | 'retryDelay' | 'expireInSeconds'>;

/**
 * Kinds whose runs keep their own record (`src/jobs/runs.ts`) decide themselves whether a lost
 * attempt is failed or handed back: no pg-boss retries unless a kind asks for them.
 */
const DEFAULT_QUEUE: JobQueueOptions = { retryLimit: 0, expireInSeconds: 24 * 60 * 60 };

/** The job queue (pg-boss in the platform's own database) as the rest of Peso sees it. */
export interface JobQueue {
  /** Queues a job; returns its id, or null when a singleton key kept it out. */
  send<K extends JobName>(name: K, payload: Jobs[K], options?: SendOptions): Promise<string | null>;
  /** Runs `handler` for each claimed job of `name`, at most `concurrency` at once. */
  work<K extends JobName>(
    name: K,
    options: { concurrency: number },
    handler: (payload: Jobs[K], job: { id: string }) => Promise<void>,
  ): Promise<void>;
  /** Sends `payload` to `name` on a cron expression (UTC), from whichever process's turn it is. */
  schedule<K extends JobName>(name: K, cron: string, payload: Jobs[K], key?: string): Promise<void>;
  /** Removes the schedule of `name` filed under `key` (several schedules of a kind: one per key). */
  unschedule(name: JobName, key?: string): Promise<void>;
  /** Stops claiming new jobs (jobs in hand finish). */
  stopWorking(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * pg-boss over PGlite goes through its `db` adapter (one connection: parameterless scripts via
 * `exec`, the rest via `query`); over PostgreSQL it uses its own small pool. Cron is on
 * (`schedule: true`) in every process: pg-boss files each occurrence under a singleton key, so
 * several API processes and workers sharing the database send it once, and a missed occurrence
 * is skipped rather than replayed (`missed: 'skip'`).
 */
export async function startJobQueue(
  database: Database,
  connectionString: string | null,
  log: Logger,
  queues: Partial<Record<JobName, JobQueueOptions>> = {},
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
          schedule: true,
        })
      : new PgBoss({ connectionString: connectionString!, max: 3, schedule: true });
  // pg-boss keeps polling and its pool reconnects by itself: an outage is logged, not fatal.
  boss.on('error', (error: unknown) =>
    isDatabaseUnavailable(error)
      ? log.warn({ error: errorSummary(error) }, 'job queue: database unavailable')
      : log.warn({ err: error }, 'job queue error'),
  );
  await boss.start();

  const created = new Map<string, Promise<void>>();
  const ensureQueue = (name: JobName) => {
    let pending = created.get(name);
    if (!pending) {
      pending = (async () => {
        if (await boss.getQueue(name)) return;
        try {
          await boss.createQueue(name, { ...DEFAULT_QUEUE, ...queues[name] });
        } catch (error) {
          // Another process created it at the same moment.
          if (!(await boss.getQueue(name))) throw error;
        }
      })();
      pending.catch(() => created.delete(name));
      created.set(name, pending);
    }
    return pending;
  };
  const working = new Set<string>();
  return {
    async send(name, payload, options) {
      await ensureQueue(name);
      return boss.send(name, payload as object, options ?? {});
    },
    async work(name, options, handler) {
      await ensureQueue(name);
      working.add(name);
      await boss.work<Jobs[typeof name]>(
        name,
        { batchSize: 1, localConcurrency: options.concurrency, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          if (job) await handler(job.data, { id: job.id });
        },
      );
    },
    async schedule(name, cron, payload, key) {
      await ensureQueue(name);
      await boss.schedule(name, cron, payload as object, {
        missed: 'skip',
        ...(key ? { key } : {}),
      });
    },
    async unschedule(name, key) {
      await ensureQueue(name);
      await boss.unschedule(name, key);
    },
    async stopWorking() {
      await Promise.all([...working].map((name) => boss.offWork(name, { wait: true })));
      working.clear();
    },
    async stop() {
      await boss.stop({ graceful: true, close: true, timeout: 30_000 });
    },
  };
}

/**
 * The job queue, started on first use: a process that runs no workers and queues nothing pays
 * nothing for it.
 */
export function lazyJobQueue(
  database: Database,
  config: Config,
  log: Logger,
  queues: Partial<Record<JobName, JobQueueOptions>> = {},
): JobQueue {
  let queue: Promise<JobQueue> | null = null;
  const get = () => {
    queue ??= startJobQueue(
      database,
      config.database.kind === 'postgres' ? config.database.url : null,
      log,
      queues,
    );
    return queue;
  };
  return {
    send: async (name, payload, options) => (await get()).send(name, payload, options),
    work: async (name, options, handler) => (await get()).work(name, options, handler),
    schedule: async (name, cron, payload, key) => (await get()).schedule(name, cron, payload, key),
    unschedule: async (name, key) => (await get()).unschedule(name, key),
    stopWorking: async () => {
      if (queue) await (await queue).stopWorking();
    },
    stop: async () => {
      if (queue) await (await queue).stop();
    },
  };
}
