import { hostname } from 'node:os';
import type { ContextDeps } from '../context';
import { createTrainingPool, type TrainingPool } from './pool';
import type { JobQueue } from './queue';
import { runTrainingJob } from './training';

/**
 * Claims training jobs from the queue and runs each in a child process of a pool of `size`.
 * `stop()` stops claiming, lets each busy child finish its epoch and hand its run back to the
 * queue, and returns when all are done.
 */
export async function startTrainingWorkers(
  deps: ContextDeps,
  jobs: JobQueue,
  options: { size: number; backend: string },
): Promise<{ pool: TrainingPool; stop(): Promise<void> }> {
  const pool = createTrainingPool({ size: options.size, log: deps.log, backend: options.backend });
  const name = `${hostname()}:${process.pid}`;
  // Jobs in hand, so stopping waits until each has recorded its outcome (or handed back).
  const inFlight = new Set<Promise<void>>();
  await jobs.workTraining(options.size, (runId) => {
    const job = runTrainingJob(deps, pool, runId, name, (id) => jobs.sendTraining(id));
    inFlight.add(job);
    return job.finally(() => inFlight.delete(job));
  });
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
