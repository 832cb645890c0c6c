import { and, eq, sql } from 'drizzle-orm';
import { models, modelVersions, type TrainingRun, trainingRuns } from '../../db/schema/models';
import { gatedStream, openGate } from '../access/gate';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, type ContextDeps, contextFor } from '../context';
import { PesoError } from '../errors';
import { publishRun } from '../models/registry';
import type { FeatureType, TrainConfig, TrainingData } from '../models/types';
import { TrainingFailure, type TrainingPool } from './pool';

/** How often a running run's heartbeat is written. */
const HEARTBEAT_MS = 5_000;

async function update(deps: ContextDeps, runId: string, changes: Partial<TrainingRun>) {
  const [run] = await deps.database.db
    .update(trainingRuns)
    .set(changes)
    .where(eq(trainingRuns.id, runId))
    .returning();
  return run!;
}

/**
 * Runs one claimed training job: marks the run RUNNING, loads its data through the access gate
 * as the person (or key) who started it, trains in a child process of the pool while writing a
 * heartbeat and one history entry per epoch, then stores the model version — or marks the run
 * FAILED / CANCELLED, or hands it back to the queue when the worker is stopping.
 */
export async function runTrainingJob(
  deps: ContextDeps,
  pool: TrainingPool,
  runId: string,
  worker: string,
  requeue: (runId: string) => Promise<void>,
): Promise<void> {
  const db = deps.database.db;
  const [claimed] = await db
    .update(trainingRuns)
    .set({
      status: 'RUNNING',
      startedAt: new Date(),
      heartbeatAt: new Date(),
      worker,
      attempt: sql`${trainingRuns.attempt} + 1`,
      error: null,
    })
    .where(and(eq(trainingRuns.id, runId), eq(trainingRuns.status, 'QUEUED')))
    .returning();
  // Cancelled (or claimed elsewhere) before it started: nothing to do.
  if (!claimed) return;
  publishRun(deps.events, claimed);
  const log = deps.log.child({ runId, worker });
  const heartbeat = setInterval(() => {
    void db
      .update(trainingRuns)
      .set({ heartbeatAt: new Date() })
      .where(and(eq(trainingRuns.id, runId), eq(trainingRuns.status, 'RUNNING')))
      .catch(() => {});
  }, HEARTBEAT_MS);
  try {
    const viewer = await viewerFor(db, claimed);
    const ctx = contextFor(deps, viewer, `train-${runId}`) as AuthedContext;
    const data = await loadTrainingData(ctx, claimed);
    const config = claimed.config as Omit<TrainConfig, 'seed'>;
    let epochs = 0;
    let history: unknown[] = [];
    let cancelAsked = false;
    const handle = pool.train(
      data,
      { ...config, seed: claimed.seed },
      {
        onStarted: ({ backend, device }) => {
          void update(deps, runId, { backend, device });
        },
        onEpoch: async (event) => {
          epochs++;
          history = [...history, event];
          const run = await update(deps, runId, {
            epochsDone: epochs,
            totalEpochs: event.totalEpochs,
            history,
            heartbeatAt: new Date(),
          });
          publishRun(deps.events, run, event);
          if (run.cancelRequested && !cancelAsked) {
            cancelAsked = true;
            handle.cancel();
          }
        },
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
      const run = await update(deps, runId, { status: 'CANCELLED', finishedAt: new Date() });
      publishRun(deps.events, run);
      return;
    }
    const artifact = JSON.stringify(output.artifact);
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
      const [run] = await tx
        .update(trainingRuns)
        .set({
          status: 'SUCCEEDED',
          finishedAt: new Date(),
          metrics: output.metrics as Record<string, unknown>,
          algorithm: output.algorithm,
          backend: output.backend,
          device: output.device,
          epochsDone: epochs,
          modelVersionId: version!.id,
        })
        .where(eq(trainingRuns.id, runId))
        .returning();
      return run!;
    });
    publishRun(deps.events, finished);
    log.info({ metrics: output.metrics }, 'training run succeeded');
  } catch (error) {
    if (error instanceof TrainingFailure && error.handedBack) {
      const run = await update(deps, runId, { status: 'QUEUED', worker: null, heartbeatAt: null });
      publishRun(deps.events, run);
      await requeue(runId);
      log.info('training run handed back to the queue');
      return;
    }
    const message =
      error instanceof PesoError || error instanceof TrainingFailure
        ? error.message
        : 'Unexpected error while training.';
    if (!(error instanceof PesoError || error instanceof TrainingFailure))
      log.error({ err: error }, 'training run failed unexpectedly');
    const run = await update(deps, runId, {
      status: 'FAILED',
      error: message,
      finishedAt: new Date(),
    });
    publishRun(deps.events, run);
  } finally {
    clearInterval(heartbeat);
  }
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
  const spec = (name: string) => ({ name, type: byName.get(name)!.type as FeatureType });
  return { features: model!.features.map(spec), target: spec(model!.target), rows };
}
