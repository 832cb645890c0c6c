import { eq, sql } from 'drizzle-orm';
import { models, modelVersions, type TrainingRun, trainingRuns } from '../../db/schema/models';
import { gatedStream, openGate } from '../access/gate';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, contextFor } from '../context';
import { executeRun } from '../jobs/runs';
import type { WorkerContext } from '../jobs/workers';
import { aliasChanged } from './cache';
import { CHALLENGER_ALIAS, type RetrainScores, scoreRetrained, settleRetrained } from './promotion';
import { publishRun, trainingRunState } from './registry';
import type { EpochEvent, TrainConfig, TrainingData } from './types';

export const TRAIN_JOB = 'peso-train';

/**
 * Runs one claimed training job: loads its data through the access gate as the person (or key)
 * who started it, trains in a pool child while recording one history entry and the run's
 * progress per epoch, then stores the model version — or marks the run CANCELLED. Failures and
 * hand-backs are the run-state helper's.
 */
export async function runTrainingJob(worker: WorkerContext, runId: string): Promise<void> {
  const { deps, pool } = worker;
  const db = deps.database.db;
  const requeue = async () => {
    await worker.jobs.send(TRAIN_JOB, { runId });
  };
  await executeRun(
    deps,
    trainingRunState,
    runId,
    { worker: worker.name, requeue },
    async (claimed) => {
      const viewer = await viewerFor(db, claimed);
      const ctx = contextFor(deps, viewer, `train-${runId}`) as AuthedContext;
      const data = await loadTrainingData(ctx, claimed);
      const config = claimed.config as Omit<TrainConfig, 'seed'>;
      let epochs = 0;
      const history: EpochEvent[] = [];
      let cancelAsked = false;
      const handle = pool.run(
        'train',
        { data, config: { ...config, seed: claimed.seed }, backend: deps.config.tfBackend },
        async (report) => {
          if (report.type === 'started') {
            await trainingRunState.update(db, runId, {
              backend: report.backend,
              device: report.device,
              adapter: report.adapter,
              backendReason: report.reason,
            });
            return;
          }
          const { event } = report;
          epochs++;
          history.push(event);
          const run = await trainingRunState.progress(
            db,
            runId,
            { step: event.step, totalSteps: event.totalSteps, phase: event.candidate },
            { epochsDone: epochs, totalEpochs: event.totalEpochs, history },
          );
          publishRun(deps.events, run, event);
          if (run.cancelRequested && !cancelAsked) {
            cancelAsked = true;
            handle.cancel();
          }
        },
      );
      // Cancel requests arrive on the bus from whichever API process took them.
      const control = deps.events.subscribe(`trainingControl:${runId}`)[Symbol.asyncIterator]();
      void (async () => {
        for (let next = await control.next(); !next.done; next = await control.next()) {
          if (next.value.action === 'CANCEL' && !cancelAsked) {
            cancelAsked = true;
            handle.cancel();
          }
        }
      })();
      const output = await handle.result.finally(() => control.return?.());
      const [current] = await db.select().from(trainingRuns).where(eq(trainingRuns.id, runId));
      if (output.cancelled || current?.cancelRequested) {
        publishRun(deps.events, await trainingRunState.finish(db, runId, 'CANCELLED'));
        return;
      }
      const artifact = JSON.stringify(output.artifact);
      // A version retrained on drift is scored against the served one before the run finishes,
      // so the run, its version, the aliases and the outcome commit together.
      let scores: RetrainScores | null = null;
      if (claimed.trigger) {
        try {
          scores = await scoreRetrained(
            db,
            claimed,
            claimed.trigger,
            output.artifact,
            data,
            deps.config.tfBackend,
          );
        } catch (error) {
          ctx.log.error({ err: error, runId }, 'retrained version could not be scored');
          scores = { metric: 'accuracy', challenger: null, champion: null, championVersion: null };
        }
      }
      const finished = await db.transaction(async (tx) => {
        const [{ n }] = (await tx
          .select({ n: sql<number>`coalesce(max(${modelVersions.number}), 0)::int` })
          .from(modelVersions)
          .where(eq(modelVersions.modelId, claimed.modelId))) as [{ n: number }];
        const [version] = await tx
          .insert(modelVersions)
          .values({
            modelId: claimed.modelId,
            runId,
            number: Number(n) + 1,
            datasetVersionId: claimed.datasetVersionId,
            metrics: output.metrics as Record<string, unknown>,
            artifact: output.artifact,
            artifactSize: Buffer.byteLength(artifact),
          })
          .returning();
        const promotion =
          claimed.trigger && scores
            ? await settleRetrained(tx, claimed, claimed.trigger, version!, scores)
            : null;
        return trainingRunState.finish(tx, runId, 'SUCCEEDED', {
          ...(promotion ? { promotion } : {}),
          metrics: output.metrics as Record<string, unknown>,
          algorithm: output.algorithm,
          backend: output.backend,
          device: output.device,
          adapter: output.adapter,
          backendReason: output.backendReason,
          epochsDone: epochs,
          modelVersionId: version!.id,
        });
      });
      publishRun(deps.events, finished);
      if (finished.promotion) {
        // Every API process drops its cached resolution of the aliases that moved.
        aliasChanged(deps.events, { modelId: claimed.modelId, alias: CHALLENGER_ALIAS });
        if (finished.promotion.promoted)
          aliasChanged(deps.events, { modelId: claimed.modelId, alias: finished.promotion.alias });
      }
      ctx.log.info({ runId, metrics: output.metrics }, 'training run succeeded');
    },
  );
}

/** Reads the run's features and target through the gate, as the caller who started it. */
async function loadTrainingData(ctx: AuthedContext, run: TrainingRun): Promise<TrainingData> {
  const [model] = await ctx.db.select().from(models).where(eq(models.id, run.modelId));
  const gate = await openGate(ctx, {
    datasetId: model!.datasetId,
    versionId: run.datasetVersionId,
  });
  const rows: Array<Record<string, unknown>> = [];
  const select = [...model!.features, model!.target];
  await gatedStream(ctx, gate, { select }, 'TRAIN', async (batch) => {
    for (const row of batch) rows.push(row);
  });
  const byName = new Map(gate.access.columns.map((c) => [c.name, c]));
  const text = new Set(model!.textFeatures);
  const spec = (name: string) => ({
    name,
    type: byName.get(name)!.type,
    ...(text.has(name) ? { text: true } : {}),
  });
  return { features: model!.features.map(spec), target: spec(model!.target), rows };
}
