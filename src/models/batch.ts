import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { datasets, datasetUploads, datasetVersions } from '../../db/schema/datasets';
import { models } from '../../db/schema/models';
import { gatedStream, openGate } from '../access/gate';
import type { AuthedContext } from '../context';
import { createDataset, uploadVersion } from '../datasets/service';
import { ForbiddenError, InputError, NotFoundError, PesoError } from '../errors';
import { csvCell } from '../query/export';
import { findVersion } from './registry';
import type { ModelArtifact } from './types';

/** Batches of CSV text waiting for the loader; the producer pauses above this many. */
const MAX_PENDING = 4;

/**
 * Starts a batch prediction: every row of a dataset version (read through the gate as the
 * caller, masked columns as the caller sees them) with the model's prediction appended — and,
 * for classification, its probability — loaded as version 1 of a new dataset through the same
 * streaming path as uploads. Returns at once with the promised version id;
 * `datasetIngestion(versionId:)` follows it to READY or FAILED. A failed batch removes the
 * dataset it created.
 */
export async function startBatchPrediction(
  ctx: AuthedContext,
  input: { modelVersionId: string; datasetVersionId: string; newDatasetName?: string | null },
): Promise<{ datasetId: string; versionId: string }> {
  const version = await findVersion(ctx, input.modelVersionId);
  const [model] = await ctx.db.select().from(models).where(eq(models.id, version.modelId));
  const [source] = await ctx.db
    .select({ datasetId: datasets.id, name: datasets.name })
    .from(datasetVersions)
    .innerJoin(datasets, eq(datasets.id, datasetVersions.datasetId))
    .where(eq(datasetVersions.id, input.datasetVersionId));
  if (!model || !source) throw new NotFoundError('DatasetVersion');
  const gate = await openGate(ctx, {
    datasetId: source.datasetId,
    versionId: input.datasetVersionId,
  });
  const columns = new Map(gate.access.columns.map((c) => [c.name, c]));
  for (const feature of model.features) {
    const c = columns.get(feature);
    if (!c)
      throw new InputError(
        `The dataset has no column "${feature}", which the model needs.`,
        'datasetVersionId',
      );
    if (c.rule !== 'CLEAR')
      throw new ForbiddenError(
        `Cannot predict from column "${feature}": you cannot read it in clear.`,
      );
  }
  const target = await createDataset(ctx, {
    name:
      input.newDatasetName?.trim() ||
      `${source.name} · ${model.name} v${version.number} predictions`.slice(0, 200),
    description: `Predictions of ${model.name} v${version.number} for ${source.name} v${gate.version.number}.`,
    tags: ['predictions'],
  });
  const versionId = randomUUID();
  // Recorded like a signed upload, so `datasetIngestion(versionId:)` can follow it.
  await ctx.db.insert(datasetUploads).values({
    id: versionId,
    datasetId: target.id,
    orgId: ctx.viewer.orgId,
    membershipId: ctx.viewer.membershipId,
    apiKeyId: ctx.viewer.apiKeyId,
    filename: 'predictions.csv',
    status: 'LOADING',
    expiresAt: new Date(),
  });
  const log = ctx.log.child({ batchPrediction: versionId });
  const prediction = model.features.includes('prediction')
    ? `${model.target}_prediction`
    : 'prediction';
  const classification = model.task === 'CLASSIFICATION';

  const pending: string[] = [];
  let finished = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    wake?.();
    wake = null;
  };
  // Producer: rows through the gate → predictions → CSV text, a batch at a time.
  const produce = async () => {
    const [{ initBackend }, { predict }] = await Promise.all([
      import('./backend'),
      import('./train'),
    ]);
    await initBackend(ctx.config.tfBackend);
    let header = false;
    await gatedStream(ctx, gate, {}, 'PREDICT', async (rows, outputs) => {
      // The loader gave up (bad data, or it failed): stop reading.
      if (finished) throw new Error('batch prediction stopped');
      const predictions = await predict(version.artifact as ModelArtifact, rows);
      let text = '';
      if (!header) {
        header = true;
        const names = [...outputs.map((c) => c.name), prediction];
        if (classification) names.push('probability');
        text += `${names.map(csvCell).join(',')}\n`;
      }
      for (const [i, row] of rows.entries()) {
        const p = predictions[i]!;
        const cells = outputs.map((c) => csvCell(row[c.name]));
        cells.push(csvCell(p.value));
        if (classification) cells.push(csvCell(p.probabilities?.[String(p.value)] ?? ''));
        text += `${cells.join(',')}\n`;
      }
      pending.push(text);
      signal();
      // Back-pressure: let the loader catch up before predicting more.
      while (pending.length > MAX_PENDING && !finished)
        await new Promise((resolve) => setTimeout(resolve, 5));
    });
  };
  const encoder = new TextEncoder();
  const csv = (async function* () {
    for (;;) {
      const next = pending.shift();
      if (next !== undefined) {
        yield encoder.encode(next);
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure) throw failure;
  })();

  void (async () => {
    const producing = produce()
      .catch((error: unknown) => {
        failure = error;
      })
      .finally(() => {
        finished = true;
        signal();
      });
    try {
      // The loader publishes progress, then READY or FAILED, as for any upload.
      await uploadVersion(ctx, {
        datasetId: target.id,
        versionId,
        filename: 'predictions.csv',
        source: csv,
        options: { format: 'CSV' },
      });
      await producing;
      await ctx.db
        .update(datasetUploads)
        .set({ status: 'READY' })
        .where(eq(datasetUploads.id, versionId));
      log.info('batch prediction loaded');
    } catch (error) {
      finished = true;
      await producing;
      if (!(error instanceof PesoError)) log.error({ err: error }, 'batch prediction failed');
      // Nothing half-made stays: the dataset created for it goes (with its upload record).
      await ctx.db.delete(datasets).where(eq(datasets.id, target.id));
    }
  })();
  return { datasetId: target.id, versionId };
}
