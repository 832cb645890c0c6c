import { createHash, randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client';
import {
  type ColumnType,
  datasetColumns,
  datasets,
  datasetUploads,
  datasetVersions,
  type Sensitivity,
} from '../../db/schema/datasets';
import {
  type Model,
  type ModelVersion,
  models,
  modelVersions,
  type PredictionRun,
  predictionRuns,
} from '../../db/schema/models';
import { accessChangedHere, bumpAccessEpoch } from '../access/cache';
import { type Gate, gatedStream, openGate, planAll, visibleRowCount } from '../access/gate';
import { datasetVisibleTo } from '../access/visibility';
import { viewerFor } from '../auth/viewer';
import { type AuthedContext, contextFor } from '../context';
import type { IngestionEvent } from '../datasets/events';
import { createDataset } from '../datasets/service';
import { type NewColumn, writeVersion } from '../datasets/writer';
import { ForbiddenError, InputError, NotFoundError } from '../errors';
import type { EventBus } from '../events/bus';
import { executeRun, runsOf } from '../jobs/runs';
import type { WorkerContext } from '../jobs/workers';
import { assertOutputsVisible, findVersion } from './registry';
import type { ModelArtifact } from './types';

export const BATCH_PREDICT_JOB = 'peso-batch-predict';

/** At most this often a LOADING event goes out, as for uploads. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * A batch prediction's progress as an upload's: `datasetIngestion(versionId:)` follows it the
 * same way (LOADING with rows done, then READY or FAILED).
 */
function publishPrediction(events: EventBus, run: PredictionRun): void {
  if (!run.datasetId) return;
  const seconds = run.startedAt ? (Date.now() - run.startedAt.getTime()) / 1000 : 0;
  const event: IngestionEvent = {
    datasetId: run.datasetId,
    versionId: run.versionId,
    status:
      run.status === 'SUCCEEDED'
        ? 'READY'
        : run.status === 'FAILED' || run.status === 'CANCELLED'
          ? 'FAILED'
          : 'LOADING',
    rows: run.step,
    bytes: 0,
    totalBytes: null,
    rowsPerSecond: seconds > 0 ? Math.round(run.step / seconds) : 0,
    error: run.error,
  };
  events.publish(`datasetIngestion:${run.datasetId}`, event);
}

/** The state of batch predictions, moved by the job runtime's one run-state helper. */
export const predictionRunState = runsOf<PredictionRun>({
  noun: 'batch prediction',
  table: predictionRuns,
  publish: publishPrediction,
  // Nothing half-made stays: the dataset created for it goes (with its upload record). Its
  // version was written in one transaction that never committed.
  cleanup: async (db: Db, run: PredictionRun) => {
    if (run.datasetId) await dropTarget(db, run.datasetId);
  },
});

/** Deletes the dataset made for a batch that did not happen: an access change like any deletion. */
async function dropTarget(db: Db, datasetId: string): Promise<void> {
  const epoch = await db.transaction(async (tx) => {
    await tx.delete(datasets).where(eq(datasets.id, datasetId));
    return bumpAccessEpoch(tx);
  });
  accessChangedHere(db, epoch, [{ kind: 'dataset', datasetId }]);
}

/** Every feature the model needs must be a column the caller reads in clear. */
function checkFeatures(model: Model, gate: Gate): void {
  const columns = new Map(gate.access.columns.map((c) => [c.name, c]));
  for (const feature of model.features) {
    const c = columns.get(feature);
    // A column hidden from the caller answers exactly as a missing one.
    if (!c || c.rule === 'HIDE')
      throw new InputError(
        `The dataset has no column "${feature}", which the model needs.`,
        'datasetVersionId',
      );
    if (c.rule !== 'CLEAR')
      throw new ForbiddenError(
        `Cannot predict from column "${feature}": you cannot read it in clear.`,
      );
  }
}

/**
 * The sensitivity of the column a model version predicts, in the data it learned from; SECRET
 * when that version is gone, so an estimate of an unknown column is never shown by default.
 */
async function sensitivityOf(
  ctx: AuthedContext,
  version: ModelVersion,
  target: string,
): Promise<Sensitivity> {
  if (!version.datasetVersionId) return 'SECRET';
  const [column] = await ctx.db
    .select({ sensitivity: datasetColumns.sensitivity })
    .from(datasetColumns)
    .where(
      and(eq(datasetColumns.versionId, version.datasetVersionId), eq(datasetColumns.name, target)),
    );
  return column?.sensitivity ?? 'SECRET';
}

/** `base`, or `alt`, or `alt_2`, … — the first not taken by another column. */
function freeName(taken: Set<string>, base: string, alt: string): string {
  if (!taken.has(base)) return base;
  let name = alt;
  for (let i = 2; taken.has(name); i++) name = `${alt}_${i}`;
  return name;
}

/**
 * Queues a batch prediction: every row of a dataset version (read through the gate as the
 * caller, masked columns as the caller sees them) with the model's prediction appended — and,
 * for classification, its probability — written by a worker as version 1 of a new dataset.
 * Returns at once with the new dataset, the promised version id and the run;
 * `datasetIngestion(versionId:)` follows it to READY or FAILED. A failed run removes the dataset
 * it created.
 */
export async function startBatchPrediction(
  ctx: AuthedContext,
  input: { modelVersionId: string; datasetVersionId: string; newDatasetName?: string | null },
  send: (runId: string) => Promise<unknown>,
): Promise<{ datasetId: string; versionId: string; run: PredictionRun }> {
  const version = await findVersion(ctx, input.modelVersionId);
  const [model] = await ctx.db.select().from(models).where(eq(models.id, version.modelId));
  const [source] = await ctx.db
    .select({ datasetId: datasets.id, name: datasets.name })
    .from(datasetVersions)
    .innerJoin(datasets, eq(datasets.id, datasetVersions.datasetId))
    .where(eq(datasetVersions.id, input.datasetVersionId));
  if (!model || !source) throw new NotFoundError('DatasetVersion');
  await assertOutputsVisible(ctx, version);
  const gate = await openGate(ctx, {
    datasetId: source.datasetId,
    versionId: input.datasetVersionId,
  });
  checkFeatures(model, gate);
  const totalSteps = await visibleRowCount(ctx, gate);
  const target = await createDataset(ctx, {
    name:
      input.newDatasetName?.trim() ||
      `${source.name} · ${model.name} v${version.number} predictions`.slice(0, 200),
    description: `Predictions of ${model.name} v${version.number} for ${source.name} v${gate.version.number}.`,
    tags: ['predictions'],
  });
  const versionId = randomUUID();
  let run: PredictionRun;
  try {
    run = await ctx.db.transaction(async (tx) => {
      // Recorded like a signed upload, so `datasetIngestion(versionId:)` can follow it.
      await tx.insert(datasetUploads).values({
        id: versionId,
        datasetId: target.id,
        orgId: ctx.viewer.orgId,
        membershipId: ctx.viewer.membershipId,
        apiKeyId: ctx.viewer.apiKeyId,
        filename: 'predictions',
        status: 'LOADING',
        expiresAt: new Date(),
      });
      const [queued] = await tx
        .insert(predictionRuns)
        .values({
          orgId: ctx.viewer.orgId,
          modelVersionId: version.id,
          sourceVersionId: gate.version.id,
          datasetId: target.id,
          versionId,
          totalSteps,
          membershipId: ctx.viewer.membershipId,
          apiKeyId: ctx.viewer.apiKeyId,
        })
        .returning();
      return queued!;
    });
    await send(run.id);
  } catch (error) {
    await dropTarget(ctx.db, target.id);
    throw error;
  }
  ctx.log.info({ runId: run.id, datasetId: target.id }, 'batch prediction queued');
  return { datasetId: target.id, versionId, run };
}

/**
 * Runs one claimed batch prediction: reads the rows through the gate as the caller who started
 * it, predicts each batch in a pool child (held for the whole run, so losing it fails the run),
 * and writes typed rows as the promised version through the dataset-version writer, in one
 * transaction. On PGlite, one connection cannot read while the writer's transaction holds it, so
 * the predicted rows are gathered before the write; on PostgreSQL they stream into it.
 */
export async function runBatchPredictionJob(worker: WorkerContext, runId: string): Promise<void> {
  const { deps, pool } = worker;
  const db = deps.database.db;
  const requeue = async () => {
    await worker.jobs.send(BATCH_PREDICT_JOB, { runId });
  };
  await executeRun(
    deps,
    predictionRunState,
    runId,
    { worker: worker.name, requeue },
    async (claimed) => {
      if (!claimed.datasetId) throw new NotFoundError('Dataset');
      const datasetId = claimed.datasetId;
      const viewer = await viewerFor(db, claimed);
      const ctx = contextFor(deps, viewer, `predict-${runId}`) as AuthedContext;
      const version = await findVersion(ctx, claimed.modelVersionId);
      const [model] = await db.select().from(models).where(eq(models.id, version.modelId));
      const [source] = await db
        .select({ datasetId: datasetVersions.datasetId })
        .from(datasetVersions)
        .where(eq(datasetVersions.id, claimed.sourceVersionId));
      if (!model || !source) throw new NotFoundError('DatasetVersion');
      // Rights are checked again as they are now: they may have changed since it was queued.
      await assertOutputsVisible(ctx, version);
      const gate = await openGate(ctx, {
        datasetId: source.datasetId,
        versionId: claimed.sourceVersionId,
      });
      checkFeatures(model, gate);
      const targetSensitivity = await sensitivityOf(ctx, version, model.target);

      const artifact = version.artifact as ModelArtifact;
      const classification = model.task === 'CLASSIFICATION';
      const plan = planAll(ctx, gate, {});
      const taken = new Set(plan.columns.map((c) => c.name));
      const prediction = freeName(taken, 'prediction', `${model.target}_prediction`);
      taken.add(prediction);
      const columns: NewColumn[] = [
        ...plan.columns.map((c) => ({ name: c.name, type: c.type })),
        {
          name: prediction,
          type: classification ? (artifact.target.type as ColumnType) : 'FLOAT',
        },
      ];
      if (classification)
        columns.push({
          name: freeName(taken, 'probability', 'prediction_probability'),
          type: 'FLOAT',
        });
      const sensitivity = new Map(gate.access.columns.map((c) => [c.name, c.sensitivity]));

      const total = (await visibleRowCount(ctx, gate)) ?? gate.version.rowCount;
      const hash = createHash('sha256');
      let done = 0;
      let published = 0;
      const lease = await pool.lease();
      const produce = async (emit: (rows: unknown[][]) => Promise<void>) => {
        await gatedStream(ctx, gate, {}, 'PREDICT', async (rows, outputs) => {
          const predictions = await lease.run('predict', {
            artifact,
            rows,
            backend: deps.config.tfBackend,
          }).result;
          const typed = rows.map((row, i) => {
            const p = predictions[i]!;
            const cells: unknown[] = outputs.map((c) => row[c.name]);
            cells.push(p.value);
            if (classification) cells.push(p.probabilities?.[String(p.value)] ?? null);
            return cells;
          });
          hash.update(JSON.stringify(typed));
          await emit(typed);
          done += rows.length;
          const run = await predictionRunState.progress(db, runId, {
            step: done,
            totalSteps: total,
          });
          if (performance.now() - published >= PROGRESS_INTERVAL_MS) {
            published = performance.now();
            publishPrediction(deps.events, run);
          }
        });
      };
      try {
        let gathered: unknown[][][] | null = null;
        if (deps.database.kind === 'pglite') {
          const batches: unknown[][][] = [];
          await produce(async (rows) => {
            batches.push(rows);
          });
          gathered = batches;
        }
        await writeVersion(
          ctx,
          { versionId: claimed.versionId, target: { datasetId } },
          async (sink) => {
            await sink.create(columns);
            if (gathered) for (const rows of gathered) await sink.writeRows(rows);
            else await produce((rows) => sink.writeRows(rows));
            return {
              rowCount: done,
              checksum: hash.digest('hex'),
              source: `Predictions of ${model.name} v${version.number}`,
              // Predictions (and their probabilities) estimate the target: they are as
              // sensitive as it is, so the new dataset masks them as the target is masked.
              columns: columns.map((c, i) => ({
                sensitivity:
                  i >= plan.columns.length
                    ? targetSensitivity
                    : (sensitivity.get(c.name) ?? 'NONE'),
              })),
            };
          },
        );
      } finally {
        lease.release();
      }
      const finished = await db.transaction(async (tx) => {
        await tx
          .update(datasetUploads)
          .set({ status: 'READY' })
          .where(eq(datasetUploads.id, claimed.versionId));
        return predictionRunState.finish(tx, runId, 'SUCCEEDED', {
          step: done,
          totalSteps: done,
        });
      });
      publishPrediction(deps.events, finished);
      ctx.log.info({ runId, rows: done }, 'batch prediction written');
    },
  );
}

/** Batch predictions the viewer can see (through their model's dataset), by id. */
export async function loadPredictionRuns(
  ctx: AuthedContext,
  ids: readonly string[],
): Promise<PredictionRun[]> {
  const rows = await ctx.db
    .select({ run: predictionRuns })
    .from(predictionRuns)
    .innerJoin(modelVersions, eq(modelVersions.id, predictionRuns.modelVersionId))
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(
      and(
        inArray(predictionRuns.id, [...ids]),
        eq(predictionRuns.orgId, ctx.viewer.orgId),
        datasetVisibleTo(ctx.viewer),
      ),
    );
  return rows.map((r) => r.run);
}

/**
 * Whether the viewer can see the batch prediction that promised `versionId`: what lets a
 * follower of `datasetIngestion(versionId:)` receive its FAILED event after the dataset made for
 * it was removed.
 */
export async function predictionVisible(ctx: AuthedContext, versionId: string): Promise<boolean> {
  const [row] = await ctx.db
    .select({ id: predictionRuns.id })
    .from(predictionRuns)
    .innerJoin(modelVersions, eq(modelVersions.id, predictionRuns.modelVersionId))
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(
      and(
        eq(predictionRuns.versionId, versionId),
        // Only once its own dataset is gone: while it exists, that dataset's visibility decides.
        isNull(predictionRuns.datasetId),
        eq(predictionRuns.orgId, ctx.viewer.orgId),
        datasetVisibleTo(ctx.viewer),
      ),
    );
  return Boolean(row);
}
