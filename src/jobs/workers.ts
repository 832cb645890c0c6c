import { hostname } from 'node:os';
import type { ContextDeps } from '../context';
import { createPool, type Pool } from './pool';
import type { JobName, JobQueue, JobQueueOptions, Jobs } from './queue';
import type { RunRow, Runs } from './runs';

/** What a job handler gets: the platform, the pool of child processes, and who is working. */
export interface WorkerContext {
  deps: ContextDeps;
  pool: Pool;
  jobs: JobQueue;
  /** `host:pid` of this worker, recorded on the runs it claims. */
  name: string;
}

/** One kind of job: its queue settings and the handler a worker runs for each job. */
export interface JobKind<K extends JobName = JobName> {
  name: K;
  queue?: JobQueueOptions;
  handle(worker: WorkerContext, payload: Jobs[K], job: { id: string }): Promise<void>;
}

/** What a domain adds to the job runtime. */
export interface JobDomain {
  // Each kind is checked against its own payload where it is defined (`defineJob`).
  kinds: Array<JobKind<never>>;
  /** A module whose `tasks` export registers the domain's pool task handlers. */
  taskModule?: string;
  /** Run tables whose lost runs the reaper fails. */
  runs?: Array<Runs<RunRow>>;
}

export function defineJob<K extends JobName>(kind: JobKind<K>): JobKind<never> {
  return kind as unknown as JobKind<never>;
}

/** Queue settings of every kind, for the job queue to create queues with. */
export function queueOptionsOf(domains: JobDomain[]): Partial<Record<JobName, JobQueueOptions>> {
  return Object.fromEntries(
    domains.flatMap((d) => d.kinds.filter((k) => k.queue).map((k) => [k.name, k.queue!])),
  );
}

/**
 * Claims jobs of every kind the domains define and runs them with a pool of `size` child
 * processes for their CPU-heavy tasks. `stop()` stops claiming, lets each busy child finish its
 * step and hand its job back to the queue, and returns when every job in hand has recorded its
 * outcome.
 */
export async function startWorkers(
  deps: ContextDeps,
  jobs: JobQueue,
  domains: JobDomain[],
  options: { size: number },
): Promise<{ pool: Pool; stop(): Promise<void> }> {
  const pool = createPool({
    size: options.size,
    log: deps.log,
    modules: domains.flatMap((d) => (d.taskModule ? [d.taskModule] : [])),
  });
  const worker: WorkerContext = { deps, pool, jobs, name: `${hostname()}:${process.pid}` };
  const inFlight = new Set<Promise<void>>();
  for (const kind of domains.flatMap((d) => d.kinds) as JobKind[]) {
    await jobs.work(kind.name, { concurrency: options.size }, (payload, job) => {
      const running = kind.handle(worker, payload as never, job);
      inFlight.add(running);
      return running.finally(() => inFlight.delete(running));
    });
  }
  return {
    pool,
    async stop() {
      const claiming = jobs.stopWorking();
      await pool.close();
      await Promise.allSettled([...inFlight]);
      await claiming;
    },
  };
}
