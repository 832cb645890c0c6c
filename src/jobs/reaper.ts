import { and, eq, lt, sql } from 'drizzle-orm';
import { trainingRuns } from '../../db/schema/models';
import type { ContextDeps } from '../context';
import { publishRun } from '../models/registry';

/**
 * Marks FAILED every RUNNING run whose worker stopped writing heartbeats for `timeoutSeconds`
 * (killed, lost its machine or its network), so no run stays RUNNING forever. Returns how many.
 */
export async function reapLostRuns(deps: ContextDeps, timeoutSeconds: number): Promise<number> {
  const lost = await deps.database.db
    .update(trainingRuns)
    .set({
      status: 'FAILED',
      error: `The worker stopped responding (no heartbeat for ${timeoutSeconds} s).`,
      finishedAt: new Date(),
    })
    .where(
      and(
        eq(trainingRuns.status, 'RUNNING'),
        lt(trainingRuns.heartbeatAt, sql`now() - make_interval(secs => ${timeoutSeconds})`),
      ),
    )
    .returning();
  for (const run of lost) {
    deps.log.warn({ runId: run.id, worker: run.worker }, 'training run lost its worker');
    publishRun(deps.events, run);
  }
  return lost.length;
}

/** Runs `reapLostRuns` on a timer; returns a stop function. */
export function startReaper(deps: ContextDeps, timeoutSeconds: number): () => void {
  const every = Math.max(1_000, Math.min(5_000, (timeoutSeconds * 1000) / 4));
  const timer = setInterval(() => {
    reapLostRuns(deps, timeoutSeconds).catch((error: unknown) =>
      deps.log.warn({ err: error }, 'could not check for lost training runs'),
    );
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
