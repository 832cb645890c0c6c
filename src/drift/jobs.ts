import { viewerFor } from '../auth/viewer';
import type { AuthedContext } from '../context';
import { contextFor } from '../context';
import { executeRun } from '../jobs/runs';
import { defineJob, type JobDomain, type WorkerContext } from '../jobs/workers';
import { TRAIN_JOB } from '../models/training-job';
import { computeDrift } from './check';
import { queueRetrain } from './retrain';
import {
  DRIFT_CHECK_JOB,
  DRIFT_SCHEDULE_JOB,
  driftReportRuns,
  monitorOf,
  queueScheduledCheck,
  recordResult,
} from './service';

declare module '../jobs/queue' {
  interface Jobs {
    [DRIFT_CHECK_JOB]: { reportId: string };
    [DRIFT_SCHEDULE_JOB]: { monitorId: string };
  }
}

/**
 * Runs one queued check as the monitor's owner, with their rights as they are now: a column
 * they no longer read in clear fails the check rather than being read.
 */
export async function runDriftCheckJob(worker: WorkerContext, reportId: string): Promise<void> {
  const { deps } = worker;
  await executeRun(
    deps,
    driftReportRuns,
    reportId,
    {
      worker: worker.name,
      requeue: async () => {
        await worker.jobs.send(DRIFT_CHECK_JOB, { reportId });
      },
    },
    async (report) => {
      const db = deps.database.db;
      const monitor = await monitorOf({ db }, report.monitorId);
      const viewer = await viewerFor(db, monitor);
      const ctx = contextFor(deps, viewer, `drift-${reportId}`) as AuthedContext;
      const result = await computeDrift(ctx, monitor, report.currentVersionId);
      const alert = await recordResult(ctx, monitor, reportId, result);
      if (alert) deps.events.publish(`driftAlerts:${monitor.orgId}`, alert);
      if (result.drifted && monitor.retrainOnDrift) {
        // The check stands on its own: a retraining the owner may no longer start is logged.
        try {
          const run = await queueRetrain(
            ctx,
            monitor,
            reportId,
            report.currentVersionId,
            async (runId) => {
              await worker.jobs.send(TRAIN_JOB, { runId });
            },
          );
          if (run) ctx.log.info({ runId: run.id, reportId }, 'retraining queued on drift');
        } catch (error) {
          ctx.log.warn({ err: error, reportId }, 'retraining on drift could not be queued');
        }
      }
    },
  );
}

/** A monitor's cron occurrence: queues a check of the dataset's latest version. */
export async function runScheduledCheck(worker: WorkerContext, monitorId: string): Promise<void> {
  await queueScheduledCheck(worker.deps.database, monitorId, (reportId) =>
    worker.jobs.send(DRIFT_CHECK_JOB, { reportId }),
  );
}

export const driftJobs: JobDomain = {
  kinds: [
    defineJob({
      name: DRIFT_CHECK_JOB,
      handle: (worker, { reportId }) => runDriftCheckJob(worker, reportId),
    }),
    defineJob({
      name: DRIFT_SCHEDULE_JOB,
      handle: (worker, { monitorId }) => runScheduledCheck(worker, monitorId),
    }),
  ],
  runs: [driftReportRuns] as JobDomain['runs'],
};
