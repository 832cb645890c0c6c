import type { Database } from '../db/client';
import type { Config } from './config';
import { createEventBus, type EventBus } from './events/bus';
import { jobDomains } from './job-kinds';
import { type JobQueue, lazyJobQueue } from './jobs/queue';
import { startReaper } from './jobs/runs';
import { queueOptionsOf, startWorkers } from './jobs/workers';
import type { Logger } from './log';
import { type PesoServer, startServer } from './server';

export interface Platform {
  server: PesoServer;
  events: EventBus;
  jobs: JobQueue;
  /** Pids of the local pool processes (training, prediction) alive now. */
  workerProcesses(): number[];
  close(): Promise<void>;
}

/**
 * Starts everything one API process runs: the event bus, the job queue, workers for every job
 * kind with `config.workers` pool processes, the reaper of lost runs, and the HTTP/WebSocket
 * server.
 */
export async function startPlatform(deps: {
  config: Config;
  database: Database;
  log: Logger;
  port?: number;
  host?: string;
}): Promise<Platform> {
  const { config, database, log } = deps;
  const events = createEventBus(database, config.redisUrl, log);
  await events.ready;
  const jobs = lazyJobQueue(database, config, log, queueOptionsOf(jobDomains));
  const base = { config, database, log, events, jobs };
  const workers =
    config.workers > 0
      ? await startWorkers(base, jobs, jobDomains, { size: config.workers })
      : null;
  const stopReaper = startReaper(
    base,
    jobDomains.flatMap((d) => d.runs ?? []),
    config.runTimeoutSeconds,
  );
  const server = await startServer({ ...deps, events, jobs });
  let closing: Promise<void> | null = null;
  return {
    server,
    events,
    jobs,
    workerProcesses: () => workers?.pool.processes ?? [],
    close: () => {
      closing ??= (async () => {
        stopReaper();
        await server.close();
        await workers?.stop();
        await jobs.stop();
        await events.close();
      })();
      return closing;
    },
  };
}
