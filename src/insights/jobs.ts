import { eq } from 'drizzle-orm';
import { insightsRuns } from '../../db/schema/insights';
import { openGate } from '../access/gate';
import { viewerFor } from '../auth/viewer';
import type { AuthedContext } from '../context';
import { contextFor } from '../context';
import { ForbiddenError } from '../errors';
import { executeRun } from '../jobs/runs';
import { defineJob, type JobDomain, type WorkerContext } from '../jobs/workers';
import { visibilityFingerprint, writeCache } from './cache';
import { computeInsights, INSIGHTS_JOB, insightsRunKind, STEPS } from './service';

declare module '../jobs/queue' {
  interface Jobs {
    [INSIGHTS_JOB]: { runId: string };
  }
}

/**
 * Computes a large version's insights as the person or key who asked, with their rights as they
 * are now: when those no longer give the visibility the run was queued for, the run fails
 * rather than caching values under a key they do not match.
 */
export async function runInsightsJob(worker: WorkerContext, runId: string): Promise<void> {
  const { deps } = worker;
  await executeRun(
    deps,
    insightsRunKind,
    runId,
    {
      worker: worker.name,
      requeue: async () => {
        await worker.jobs.send(INSIGHTS_JOB, { runId });
      },
    },
    async (run) => {
      const db = deps.database.db;
      const viewer = await viewerFor(db, run);
      const ctx = contextFor(deps, viewer, `insights-${runId}`) as AuthedContext;
      const gate = await openGate(ctx, { datasetId: run.datasetId, versionId: run.versionId });
      if (visibilityFingerprint(ctx, gate) !== run.fingerprint)
        throw new ForbiddenError('Access changed since the insights were requested.');
      const insights = await computeInsights(ctx, gate, async (step, phase) => {
        await insightsRunKind.update(db, runId, { step, phase, totalSteps: STEPS.length });
      });
      await writeCache(ctx, run.versionId, run.fingerprint, insights);
      await db
        .update(insightsRuns)
        .set({ status: 'SUCCEEDED', step: STEPS.length, finishedAt: new Date() })
        .where(eq(insightsRuns.id, runId));
    },
  );
}

export const insightsJobs: JobDomain = {
  kinds: [
    defineJob({ name: INSIGHTS_JOB, handle: (worker, { runId }) => runInsightsJob(worker, runId) }),
  ],
  runs: [insightsRunKind] as JobDomain['runs'],
};
