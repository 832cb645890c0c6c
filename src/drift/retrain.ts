import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { datasetVersions } from '../../db/schema/datasets';
import type { DriftMonitor } from '../../db/schema/drift';
import { type TrainingRun, trainingRuns } from '../../db/schema/models';
import type { AuthedContext } from '../context';
import { trainModel } from '../models/registry';
import type { Algorithm, Hyperparameters } from '../models/types';

/**
 * Closes the loop of a model monitor that asks to retrain on drift: after a check whose verdict
 * is dataset drift, queues one training run of the model with its last configuration (that of
 * the run behind its newest version, seed included) on the version that drifted, as the
 * monitor's owner. Once per model and drifted version: a second drifted check of the same
 * version finds the run already queued. Returns the run, or null when none was queued.
 */
export async function queueRetrain(
  ctx: AuthedContext,
  monitor: DriftMonitor,
  reportId: string,
  currentVersionId: string,
  send: (runId: string) => Promise<void>,
): Promise<TrainingRun | null> {
  if (!monitor.retrainOnDrift || !monitor.modelId) return null;
  const [already] = await ctx.db
    .select({ id: trainingRuns.id })
    .from(trainingRuns)
    .where(
      and(
        eq(trainingRuns.modelId, monitor.modelId),
        eq(trainingRuns.datasetVersionId, currentVersionId),
        isNotNull(trainingRuns.trigger),
        inArray(trainingRuns.status, ['QUEUED', 'RUNNING', 'SUCCEEDED']),
      ),
    )
    .limit(1);
  if (already) return null;
  const [last] = await ctx.db
    .select()
    .from(trainingRuns)
    .where(and(eq(trainingRuns.modelId, monitor.modelId), eq(trainingRuns.status, 'SUCCEEDED')))
    .orderBy(desc(trainingRuns.finishedAt))
    .limit(1);
  const [version] = await ctx.db
    .select({ number: datasetVersions.number })
    .from(datasetVersions)
    .where(eq(datasetVersions.id, currentVersionId));
  if (!version) return null;
  const config = (last?.config ?? {}) as {
    algorithm?: Algorithm;
    hyperparameters?: Hyperparameters;
    trials?: number;
    validationSplit?: number;
  };
  return trainModel(
    ctx,
    {
      modelId: monitor.modelId,
      datasetVersion: version.number,
      algorithm: config.algorithm ?? null,
      hyperparameters: config.hyperparameters ?? null,
      trials: config.trials ?? null,
      validationSplit: config.validationSplit ?? null,
      seed: last?.seed ?? null,
    },
    send,
    {
      kind: 'DRIFT',
      reportId,
      monitorId: monitor.id,
      promotionAlias: monitor.promotionAlias,
      promotionMargin: monitor.promotionMargin,
    },
  );
}

/** Runs queued by a drift report (for the report's view). */
export async function retrainRunsOf(ctx: AuthedContext, reportIds: readonly string[]) {
  if (reportIds.length === 0) return [];
  return ctx.db
    .select()
    .from(trainingRuns)
    .where(
      and(
        eq(trainingRuns.orgId, ctx.viewer.orgId),
        inArray(sql<string>`${trainingRuns.trigger}->>'reportId'`, [...reportIds]),
      ),
    );
}
