/** Query.models · Query.model · Query.trainingRun · Query.trainingRuns · Query.predict · Query.predictionRun · Mutation.trainModel · Mutation.cancelTrainingRun · Mutation.setModelAlias · Mutation.removeModelAlias · Mutation.batchPredict · Subscription.trainingProgress · Subscription.trainingRuns */
import { createContextCache } from '@pothos/core';
import { encodeGlobalID, resolveOffsetConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import { z } from 'zod';
import type { RunStatus } from '../db/schema/common';
import type { ModelAliasEvent, PredictionRun, PromotionOutcome } from '../db/schema/models';
import { builder } from '../schema/builder';
import type { AuthedContext } from '../src/context';
import { ConflictError, InputError, NotFoundError } from '../src/errors';
import { openStream, perViewer } from '../src/events/stream';
import { BATCH_PREDICT_JOB, loadPredictionRuns, startBatchPrediction } from '../src/models/batch';
import {
  historySeries,
  MAX_SERIES_POINTS,
  type Series,
  type SeriesPoint,
} from '../src/models/downsample';
import type { TrainingEvent } from '../src/models/events';
import * as registry from '../src/models/registry';
import { TRAIN_JOB } from '../src/models/training-job';
import type { Metrics } from '../src/models/types';
import { UserRef } from './auth';
import { DatasetRef, DatasetVersionRef } from './datasets';

type Model = Awaited<ReturnType<typeof registry.findModel>>;
type Run = Awaited<ReturnType<typeof registry.findRun>>;
type Version = Awaited<ReturnType<typeof registry.findVersion>>;

export const ModelRef = builder.loadableNodeRef<Model>('Model', {
  id: { resolve: (m) => m.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? registry.loadModels(ctx as AuthedContext, ids) : [],
  sort: (m) => m.id,
});

export const ModelVersionRef = builder.loadableNodeRef<Version>('ModelVersion', {
  id: { resolve: (v) => v.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? registry.loadModelVersions(ctx as AuthedContext, ids) : [],
  sort: (v) => v.id,
});

export const TrainingRunRef = builder.loadableNodeRef<Run>('TrainingRun', {
  id: { resolve: (r) => r.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? registry.loadRuns(ctx as AuthedContext, ids) : [],
  sort: (r) => r.id,
});

/** Aliases of many versions in one statement per request. */
const aliasLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<string, string[]>(async (ids) => {
      const aliases = await registry.aliasesOf(ctx, ids);
      return ids.map((id) => aliases.filter((a) => a.versionId === id).map((a) => a.alias));
    }),
);

/**
 * Whether the viewer may see the outputs (metrics, per-epoch history) of many runs, resolved
 * together once per request: they inherit the rules of the model's target and features.
 */
const outputsLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<string, boolean>(async (runIds) => {
      const visible = await registry.outputsVisible(ctx, runIds);
      return runIds.map((id) => visible.get(id) ?? false);
    }),
);

/** Runs of many models (the newest 100 of each) in one statement per request. */
const runsLoader = createContextCache(
  (ctx: AuthedContext) =>
    new DataLoader<string, Run[]>(async (modelIds) => {
      const runs = await registry.runsOfModels(ctx, modelIds);
      return modelIds.map((id) => runs.filter((r) => r.modelId === id).slice(0, 100));
    }),
);

const TaskEnum = builder.enumType('ModelTask', {
  description: 'What a model predicts.',
  values: {
    CLASSIFICATION: { description: 'A class (category) per row, with probabilities.' },
    REGRESSION: { description: 'A number per row.' },
  } as const,
});

export const AlgorithmEnum = builder.enumType('Algorithm', {
  description: 'How to learn.',
  values: {
    LOGISTIC_REGRESSION: { description: 'Linear softmax classifier with L2.' },
    LINEAR_REGRESSION: { description: 'Linear regression with L2.' },
    MLP: { description: 'Dense neural network (ReLU, dropout).' },
    AUTO: { description: 'Tries the linear model and an MLP; keeps the better on validation.' },
  } as const,
});

export const RunStatusEnum = builder.enumType('RunStatus', {
  description: 'Where a run (training, batch prediction) stands.',
  values: {
    QUEUED: { description: 'Waiting for a worker.' },
    RUNNING: { description: 'A worker is running it.' },
    SUCCEEDED: { description: 'Done; its result (model version, dataset version) exists.' },
    FAILED: { description: 'Stopped by an error or a lost worker; see `error`.' },
    CANCELLED: { description: 'Stopped on request.' },
  } as const satisfies Record<RunStatus, { description: string }>,
});

const MetricEnum = builder.enumType('ModelMetric', {
  description: 'A held-out metric to sort runs by.',
  values: {
    accuracy: { description: 'Share of correct classes.' },
    precision: { description: 'Macro precision.' },
    recall: { description: 'Macro recall.' },
    f1: { description: 'Macro F1.' },
    rocAuc: { description: 'ROC AUC.' },
    logLoss: { description: 'Log loss (lower is better).' },
    rmse: { description: 'Root mean squared error (lower is better).' },
    mae: { description: 'Mean absolute error (lower is better).' },
    r2: { description: 'Coefficient of determination.' },
  } as const satisfies Record<registry.MetricName, { description: string }>,
});

const ConfusionMatrix = builder
  .objectRef<{ labels: string[]; matrix: number[][] }>('ConfusionMatrix')
  .implement({
    description: 'Counts of held-out rows by true class (rows) and predicted class (columns).',
    fields: (t) => ({
      labels: t.exposeStringList('labels', { description: 'Class labels, in row/column order.' }),
      matrix: t.field({ type: ['JSON'], description: 'Rows of counts.', resolve: (m) => m.matrix }),
    }),
  });

const MetricsRef = builder.objectRef<Metrics>('ModelMetrics').implement({
  description: 'Metrics on the held-out split (classification or regression ones).',
  fields: (t) => ({
    accuracy: t.float({
      nullable: true,
      description: 'Share of correct classes.',
      resolve: (m) => m.accuracy ?? null,
    }),
    precision: t.float({
      nullable: true,
      description: 'Macro precision.',
      resolve: (m) => m.precision ?? null,
    }),
    recall: t.float({
      nullable: true,
      description: 'Macro recall.',
      resolve: (m) => m.recall ?? null,
    }),
    f1: t.float({ nullable: true, description: 'Macro F1.', resolve: (m) => m.f1 ?? null }),
    rocAuc: t.float({
      nullable: true,
      description: 'ROC AUC (macro one-vs-rest for several classes).',
      resolve: (m) => m.rocAuc ?? null,
    }),
    logLoss: t.float({
      nullable: true,
      description: 'Log loss.',
      resolve: (m) => m.logLoss ?? null,
    }),
    confusionMatrix: t.field({
      type: ConfusionMatrix,
      nullable: true,
      description: 'Confusion matrix.',
      resolve: (m) => m.confusionMatrix ?? null,
    }),
    rmse: t.float({
      nullable: true,
      description: 'Root mean squared error.',
      resolve: (m) => m.rmse ?? null,
    }),
    mae: t.float({
      nullable: true,
      description: 'Mean absolute error.',
      resolve: (m) => m.mae ?? null,
    }),
    r2: t.float({
      nullable: true,
      description: 'Coefficient of determination.',
      resolve: (m) => m.r2 ?? null,
    }),
  }),
});

const EpochRef = builder.objectRef<TrainingEvent>('TrainingProgress').implement({
  description: 'A training run event: a status change, or one finished epoch.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'STATUS or EPOCH.' }),
    runId: t.id({
      description: 'The run.',
      resolve: (e) => encodeGlobalID('TrainingRun', e.runId),
    }),
    status: t.field({
      type: RunStatusEnum,
      description: 'Status after this event.',
      resolve: (e) => e.status,
    }),
    epoch: t.exposeInt('epoch', {
      nullable: true,
      description: 'Epoch of the current candidate just finished (from 1).',
      deprecationReason:
        'Per candidate: restarts with each candidate, trial and the refit. Use step and totalSteps.',
    }),
    totalEpochs: t.exposeInt('totalEpochs', {
      nullable: true,
      description: 'Epochs of the current candidate.',
      deprecationReason:
        'Per candidate: restarts with each candidate, trial and the refit. Use step and totalSteps.',
    }),
    step: t.exposeInt('step', {
      nullable: true,
      description:
        'Epochs done over the whole run (every candidate, trial and the refit); never decreases.',
    }),
    totalSteps: t.exposeInt('totalSteps', {
      nullable: true,
      description:
        'Epochs the whole run takes; never below step (it may shrink once the refit is known).',
    }),
    candidate: t.exposeString('candidate', {
      nullable: true,
      description: 'Candidate being trained, e.g. MLP#1, MLP#2 (a trial), MLP#1:refit.',
    }),
    loss: t.exposeFloat('loss', { nullable: true, description: 'Training loss.' }),
    valLoss: t.exposeFloat('valLoss', { nullable: true, description: 'Validation loss.' }),
    metrics: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Epoch metrics.',
      resolve: (e) => e.metrics,
    }),
    samplesPerSecond: t.exposeFloat('samplesPerSecond', {
      nullable: true,
      description: 'Throughput.',
    }),
    etaSeconds: t.exposeFloat('etaSeconds', {
      nullable: true,
      description: 'Estimated seconds left for this candidate.',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    at: t.string({ description: 'When (ISO 8601).', resolve: (e) => e.at }),
  }),
});

ModelRef.implement({
  description: 'A prediction target over a dataset, with versions from successful runs.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique within the organization.' }),
    task: t.field({ type: TaskEnum, description: 'Task.', resolve: (m) => m.task }),
    target: t.exposeString('target', { description: 'Column predicted.' }),
    features: t.exposeStringList('features', { description: 'Columns used to predict.' }),
    dataset: t.field({ type: DatasetRef, description: 'Dataset.', resolve: (m) => m.datasetId }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it.',
      resolve: (m) => m.createdBy,
    }),
    versions: t.loadableGroup({
      type: ModelVersionRef,
      description: 'Versions, newest first.',
      load: (ids: string[], ctx) => registry.versionsOfModels(ctx as AuthedContext, ids),
      group: (v) => (v as Version).modelId,
      resolve: (m) => m.id,
    }),
    versionByAlias: t.withAuth({ authenticated: true }).field({
      type: ModelVersionRef,
      nullable: true,
      description: 'The version holding an alias now, or at `at` (from the alias history).',
      args: {
        alias: t.arg.string({ required: true }),
        at: t.arg({ type: 'DateTime', description: 'A past moment.' }),
      },
      resolve: (m, args, ctx) => registry.versionByAlias(ctx, m.id, args.alias, args.at ?? null),
    }),
    aliasHistory: t.withAuth({ authenticated: true }).field({
      type: [AliasChange],
      description: 'Every change of its aliases, newest first.',
      args: { alias: t.arg.string({ description: 'Only this alias.' }) },
      resolve: (m, args, ctx) => registry.aliasHistory(ctx, m.id, args.alias ?? null),
    }),
    runs: t.withAuth({ authenticated: true }).field({
      type: [TrainingRunRef],
      description: 'Its runs, newest first (at most 100).',
      resolve: (m, _args, ctx) => runsLoader(ctx).load(m.id),
    }),
  }),
});

const PromotionRef = builder.objectRef<PromotionOutcome>('Promotion').implement({
  description:
    'A version retrained on drift against the version serving under the alias, both scored on the held-out rows of the new data.',
  fields: (t) => ({
    promoted: t.exposeBoolean('promoted', {
      description: 'It took over the alias; otherwise it waits (as `challenger`) for a person.',
    }),
    alias: t.exposeString('alias', { description: 'The alias it could take over.' }),
    metric: t.exposeString('metric', {
      description: 'The deciding metric: accuracy, or r2 for regression (higher is better).',
    }),
    challenger: t.exposeFloat('challenger', {
      nullable: true,
      description: 'The retrained version’s value.',
    }),
    champion: t.exposeFloat('champion', {
      nullable: true,
      description: 'The served version’s value on the same rows; null when none was served.',
    }),
    championVersion: t.field({
      type: ModelVersionRef,
      nullable: true,
      description: 'The version that was serving.',
      resolve: (p) => p.championVersionId,
    }),
    margin: t.exposeFloat('margin', { description: 'Gain needed for automatic promotion.' }),
    reason: t.exposeString('reason', { description: 'The decision in words, with the figures.' }),
  }),
});

const AliasChange = builder.objectRef<ModelAliasEvent>('ModelAliasChange').implement({
  description: 'An alias pointed at a version (or removed).',
  fields: (t) => ({
    alias: t.exposeString('alias', { description: 'Alias.' }),
    version: t.field({
      type: ModelVersionRef,
      nullable: true,
      description: 'The version it pointed to from then; null: removed.',
      resolve: (e) => e.versionId,
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When.' }),
    changedBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who; null for a change made by a rule (retraining on drift).',
      resolve: (e) => e.changedBy,
    }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why: the rule and its figures, or the reason given with setModelAlias.',
    }),
  }),
});

ModelVersionRef.implement({
  description: 'A trained model: its metrics and the artifact (preprocessing and weights).',
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Version number, from 1.' }),
    model: t.field({ type: ModelRef, description: 'Model.', resolve: (v) => v.modelId }),
    metrics: t.field({
      type: MetricsRef,
      description:
        'Held-out metrics; every field null unless you read the target and features in clear in every row it learned from (they describe, and a confusion matrix names, target values).',
      resolve: async (v, _args, ctx) =>
        (await outputsLoader(ctx as AuthedContext).load(v.runId)) ? (v.metrics as Metrics) : {},
    }),
    aliases: t.withAuth({ authenticated: true }).stringList({
      description: 'Aliases pointing here now.',
      resolve: (v, _args, ctx) => aliasLoader(ctx).load(v.id),
    }),
    datasetVersion: t.field({
      type: DatasetVersionRef,
      nullable: true,
      description: 'The dataset version it was trained on.',
      resolve: (v) => v.datasetVersionId,
    }),
    artifactSize: t.exposeInt('artifactSize', { description: 'Artifact size in bytes.' }),
    run: t.field({
      type: TrainingRunRef,
      nullable: true,
      description: 'The run that made it.',
      resolve: (v) => v.runId,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

const GpuAdapterRef = builder
  .objectRef<{ vendor: string; architecture: string; device: string; description: string }>(
    'GpuAdapter',
  )
  .implement({
    description: 'A WebGPU adapter as Dawn (over Vulkan) describes it.',
    fields: (t) => ({
      vendor: t.exposeString('vendor', { description: 'Vendor, e.g. nvidia or mesa.' }),
      architecture: t.exposeString('architecture', {
        description: 'Architecture, e.g. hopper; software for a CPU implementation.',
      }),
      device: t.exposeString('device', { description: 'Device name or id.' }),
      description: t.exposeString('description', { description: 'Driver description.' }),
    }),
  });

const SeriesPointRef = builder.objectRef<SeriesPoint>('SeriesPoint').implement({
  description:
    'A bucket of consecutive epochs of a series: its last step, and min, max and last value.',
  fields: (t) => ({
    step: t.exposeInt('step', {
      description: 'Step (epoch over the whole run) of the last point.',
    }),
    min: t.exposeFloat('min', { description: 'Smallest value in the bucket.' }),
    max: t.exposeFloat('max', { description: 'Largest value in the bucket.' }),
    last: t.exposeFloat('last', { description: 'Value of the last point in the bucket.' }),
  }),
});

const TrainingSeriesRef = builder.objectRef<Series>('TrainingSeries').implement({
  description: "One series of a run's per-epoch history (loss, valLoss or a metric), downsampled.",
  fields: (t) => ({
    name: t.exposeString('name', { description: 'loss, valLoss or the metric name.' }),
    total: t.exposeInt('total', { description: 'Points in the full history.' }),
    points: t.field({
      type: [SeriesPointRef],
      description: 'At most `max` buckets, in order; the last one ends at the newest point.',
      resolve: (s) => s.points,
    }),
  }),
});

TrainingRunRef.implement({
  description: 'One training attempt, from QUEUED to SUCCEEDED, FAILED or CANCELLED.',
  fields: (t) => ({
    model: t.field({ type: ModelRef, description: 'Model.', resolve: (r) => r.modelId }),
    status: t.field({ type: RunStatusEnum, description: 'Status.', resolve: (r) => r.status }),
    config: t.field({
      type: 'JSON',
      description: 'Algorithm, hyperparameters, trials, split, task.',
      resolve: (r) => r.config,
    }),
    seed: t.exposeInt('seed', { description: 'Random seed.' }),
    algorithm: t.exposeString('algorithm', {
      nullable: true,
      description: 'Algorithm chosen (AUTO resolves to one).',
    }),
    backend: t.exposeString('backend', {
      nullable: true,
      description: 'TensorFlow.js backend used (wasm, cpu, tensorflow, …).',
    }),
    device: t.exposeString('device', { nullable: true, description: 'CPU or GPU.' }),
    adapter: t.field({
      type: GpuAdapterRef,
      nullable: true,
      description: 'The WebGPU adapter it trained on (backend webgpu).',
      resolve: (r) => r.adapter ?? null,
    }),
    backendReason: t.exposeString('backendReason', {
      nullable: true,
      description:
        'Why the backend was chosen; under TF_BACKEND=auto also why the others were not (no adapter, model below the GPU threshold, over the buffer limit, failed parity check).',
    }),
    worker: t.exposeString('worker', { nullable: true, description: 'host:pid of the worker.' }),
    epochsDone: t.exposeInt('epochsDone', { description: 'Epochs finished (all candidates).' }),
    totalEpochs: t.exposeInt('totalEpochs', {
      nullable: true,
      description: 'Epochs of the candidate last reported.',
      deprecationReason:
        'Per candidate: restarts with each candidate, trial and the refit. Use step and totalSteps.',
    }),
    step: t.exposeInt('step', {
      description:
        'Epochs done over the whole run (every candidate, trial and the refit); never decreases within an attempt.',
    }),
    totalSteps: t.exposeInt('totalSteps', {
      nullable: true,
      description: 'Epochs the whole run takes, once a worker knows; never below step.',
    }),
    candidate: t.exposeString('phase', {
      nullable: true,
      description: 'Candidate being trained now, or last trained, e.g. MLP#2.',
    }),
    attempt: t.exposeInt('attempt', {
      description: 'Attempts started (a run handed back by a stopping worker starts again).',
    }),
    history: t.field({
      type: ['JSON'],
      description:
        'Per-epoch loss and metrics, in order; empty unless you may see its metrics (as `metrics`).',
      resolve: async (r, _args, ctx) =>
        (await outputsLoader(ctx as AuthedContext).load(r.id)) ? r.history : [],
    }),
    series: t.field({
      type: [TrainingSeriesRef],
      description:
        'The history as series (loss, valLoss, each metric), each downsampled on the server to at most `max` buckets of consecutive epochs keeping min, max and last; empty unless you may see its metrics.',
      args: {
        max: t.arg.int({
          defaultValue: MAX_SERIES_POINTS,
          validate: z.number().int().min(1).max(MAX_SERIES_POINTS),
          description: `Points per series, 1–${MAX_SERIES_POINTS}.`,
        }),
      },
      resolve: async (r, args, ctx) =>
        (await outputsLoader(ctx as AuthedContext).load(r.id))
          ? historySeries(r.history as unknown[], args.max ?? MAX_SERIES_POINTS)
          : [],
    }),
    metrics: t.field({
      type: MetricsRef,
      nullable: true,
      description:
        'Final held-out metrics; null unless you read the target and features in clear in every row it learned from.',
      resolve: async (r, _args, ctx) =>
        (await outputsLoader(ctx as AuthedContext).load(r.id))
          ? ((r.metrics as Metrics | null) ?? null)
          : null,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    promotion: t.field({
      type: PromotionRef,
      nullable: true,
      description:
        'A run retrained on drift: how its version compared with the served one and whether it was promoted; null for other runs, and unless you may see its metrics.',
      resolve: async (r, _args, ctx) =>
        r.promotion && (await outputsLoader(ctx as AuthedContext).load(r.id)) ? r.promotion : null,
    }),
    cancelRequested: t.exposeBoolean('cancelRequested', { description: 'A cancel was asked.' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', description: 'When queued.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a worker started it.',
    }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it ended.',
    }),
    durationMs: t.float({
      nullable: true,
      description: 'Training time in milliseconds.',
      resolve: (r) =>
        r.startedAt && r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
    }),
    modelVersion: t.field({
      type: ModelVersionRef,
      nullable: true,
      description: 'The version it produced.',
      resolve: (r) => r.modelVersionId,
    }),
    datasetVersion: t.field({
      type: DatasetVersionRef,
      description: 'Data trained on.',
      resolve: (r) => r.datasetVersionId,
    }),
  }),
});

const HyperparametersInput = builder.inputType('Hyperparameters', {
  description: 'Training settings; defaults suit small tabular data.',
  fields: (t) => ({
    epochs: t.int({
      validate: z.number().int().min(1).max(10_000),
      description: 'Passes over the data.',
    }),
    learningRate: t.float({
      validate: z.number().gt(0).max(10),
      description: 'Adam learning rate.',
    }),
    batchSize: t.int({
      validate: z.number().int().min(1).max(65_536),
      description: 'Rows per step.',
    }),
    hiddenUnits: t.intList({
      validate: z.array(z.number().int().min(1).max(4096)).max(8),
      description: 'MLP layer sizes.',
    }),
    l2: t.float({ validate: z.number().min(0).max(10), description: 'L2 penalty.' }),
    dropout: t.float({ validate: z.number().min(0).max(0.9), description: 'MLP dropout.' }),
  }),
});

const TrainModelInput = builder.inputType('TrainModelInput', {
  description:
    'Retrain a model (modelId), or create one (name, datasetId, target). Training data is read through the access gate as you.',
  fields: (t) => ({
    modelId: t.globalID({ for: [ModelRef], description: 'Existing model to retrain.' }),
    name: t.string({
      validate: z.string().trim().min(1).max(200),
      description: 'Name of a new model.',
    }),
    datasetId: t.globalID({ for: [DatasetRef], description: 'Dataset of a new model.' }),
    datasetVersion: t.int({ description: 'Dataset version number; default the newest.' }),
    target: t.string({ description: 'Column to predict (new model).' }),
    features: t.stringList({
      description: 'Columns to use; default all you may read but the target.',
    }),
    task: t.field({ type: TaskEnum, description: 'Default: inferred from the target.' }),
    algorithm: t.field({ type: AlgorithmEnum, description: 'Default AUTO.' }),
    hyperparameters: t.field({ type: HyperparametersInput, description: 'Settings.' }),
    trials: t.int({ description: 'Random-search trials per algorithm (default 1).' }),
    validationSplit: t.float({ description: 'Held-out share for metrics (default 0.2).' }),
    seed: t.int({ description: 'Random seed; fixed seeds reproduce runs.' }),
  }),
});

const RunFilterInput = builder.inputType('TrainingRunFilter', {
  description: 'Which runs to list.',
  fields: (t) => ({
    modelId: t.globalID({ for: [ModelRef], description: 'Of this model.' }),
    datasetId: t.globalID({ for: [DatasetRef], description: 'On this dataset.' }),
    status: t.field({ type: RunStatusEnum, description: 'In this status.' }),
  }),
});

const PredictionRef = builder
  .objectRef<{ value: string | number; probabilities: Record<string, number> | null }>('Prediction')
  .implement({
    description: 'The prediction for one input row.',
    fields: (t) => ({
      value: t.field({
        type: 'JSON',
        description: 'Predicted class or number.',
        resolve: (p) => p.value,
      }),
      probabilities: t.field({
        type: 'JSON',
        nullable: true,
        description: 'Class probabilities by label (classification).',
        resolve: (p) => p.probabilities,
      }),
    }),
  });

const PredictionResult = builder
  .objectRef<{
    version: Version;
    predictions: Array<{ value: string | number; probabilities: Record<string, number> | null }>;
  }>('PredictionResult')
  .implement({
    description: 'Predictions and the version that made them.',
    fields: (t) => ({
      version: t.field({
        type: ModelVersionRef,
        description: 'Version used.',
        resolve: (r) => r.version,
      }),
      predictions: t.field({
        type: [PredictionRef],
        description: 'One per input row, in order.',
        resolve: (r) => r.predictions,
      }),
    }),
  });

const errors = { types: [InputError, NotFoundError, ConflictError], directResult: true as const };

builder.queryFields((t) => ({
  models: t.withAuth({ authenticated: true }).connection({
    type: ModelRef,
    description: 'Models you can see, by name.',
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection({ args }, (page) => registry.listModels(ctx, page)),
  }),
  model: t.withAuth({ authenticated: true }).field({
    type: ModelRef,
    nullable: true,
    description: 'One model; null when not visible.',
    args: { id: t.arg.globalID({ for: [ModelRef], required: true }) },
    resolve: (_root, { id }) => id.id,
  }),
  trainingRun: t.withAuth({ authenticated: true }).field({
    type: TrainingRunRef,
    nullable: true,
    description: 'One run; null when not visible.',
    args: { id: t.arg.globalID({ for: [TrainingRunRef], required: true }) },
    resolve: (_root, { id }) => id.id,
  }),
  trainingRuns: t.withAuth({ authenticated: true }).field({
    type: [TrainingRunRef],
    description:
      'Runs, filtered, newest first or ordered by a held-out metric (runs without it last).',
    args: {
      filter: t.arg({ type: RunFilterInput }),
      orderByMetric: t.arg({ type: MetricEnum }),
      direction: t.arg.string({ description: 'ASC or DESC (default DESC).' }),
      first: t.arg.int({ description: 'At most this many (default 100, max 1000).' }),
      offset: t.arg.int({ description: 'Skip this many.' }),
    },
    resolve: (_root, args, ctx) => {
      const limit = args.first ?? 100;
      if (limit < 1 || limit > 1000)
        throw new InputError('first must be between 1 and 1000.', 'first');
      if (args.direction && args.direction !== 'ASC' && args.direction !== 'DESC')
        throw new InputError('direction is ASC or DESC.', 'direction');
      return registry.listRuns(
        ctx,
        {
          modelId: args.filter?.modelId?.id,
          datasetId: args.filter?.datasetId?.id,
          status: args.filter?.status,
        },
        { metric: args.orderByMetric, direction: args.direction as 'ASC' | 'DESC' | null },
        { limit, offset: Math.max(0, args.offset ?? 0) },
      );
    },
  }),
  predict: t.withAuth({ authenticated: true }).field({
    type: PredictionResult,
    description:
      'Predicts for rows of feature values (JSON objects keyed by feature name) with a version, by versionId or by modelId and alias (e.g. "production"). The training pipeline (imputation, scaling, one-hot) is applied. FORBIDDEN unless you read its target and features in clear in every row it learned from (a prediction estimates the target).',
    errors,
    args: {
      modelId: t.arg.globalID({ for: [ModelRef] }),
      alias: t.arg.string(),
      versionId: t.arg.globalID({ for: [ModelVersionRef] }),
      rows: t.arg({ type: ['JSON'], required: true }),
    },
    resolve: (_root, args, ctx) =>
      registry.predictWith(
        ctx,
        { versionId: args.versionId?.id, modelId: args.modelId?.id, alias: args.alias },
        args.rows,
      ),
  }),
}));

export const PredictionRunRef = builder.loadableNodeRef<PredictionRun>('PredictionRun', {
  id: { resolve: (r) => r.id },
  load: async (ids: string[], ctx) =>
    ctx.viewer ? loadPredictionRuns(ctx as AuthedContext, ids) : [],
  sort: (r) => r.id,
});

PredictionRunRef.implement({
  description:
    'One batch prediction, run by a worker: rows done out of rows to predict, then SUCCEEDED (its dataset version exists) or FAILED (nothing of it remains).',
  fields: (t) => ({
    status: t.field({ type: RunStatusEnum, description: 'Status.', resolve: (r) => r.status }),
    step: t.exposeInt('step', { description: 'Rows predicted so far; never decreases.' }),
    totalSteps: t.exposeInt('totalSteps', {
      nullable: true,
      description: 'Rows to predict (the rows you may read, at most the version row count).',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
    attempt: t.exposeInt('attempt', { description: 'Attempts started.' }),
    worker: t.exposeString('worker', { nullable: true, description: 'host:pid of the worker.' }),
    modelVersion: t.field({
      type: ModelVersionRef,
      description: 'The version predicting.',
      resolve: (r) => r.modelVersionId,
    }),
    dataset: t.field({
      type: DatasetRef,
      nullable: true,
      description: 'The dataset receiving the predictions; null once a failed run removed it.',
      resolve: (r) => r.datasetId,
    }),
    versionId: t.id({
      description: 'ID its dataset version has once written.',
      resolve: (r) => encodeGlobalID('DatasetVersion', r.versionId),
    }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', description: 'When queued.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a worker started it.',
    }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it ended.',
    }),
  }),
});

const BatchPrediction = builder
  .objectRef<{ datasetId: string; versionId: string; run: PredictionRun }>('BatchPrediction')
  .implement({
    description:
      'A batch prediction under way: follow it with `datasetIngestion(versionId:)` until READY, or read its `run`.',
    fields: (t) => ({
      dataset: t.field({
        type: DatasetRef,
        description: 'The new dataset that receives the predictions.',
        resolve: (b) => b.datasetId,
      }),
      versionId: t.id({
        description: 'ID its version will have once loaded.',
        resolve: (b) => encodeGlobalID('DatasetVersion', b.versionId),
      }),
      run: t.field({
        type: PredictionRunRef,
        description: 'The run that writes it: status and progress (rows done of rows to do).',
        resolve: (b) => b.run,
      }),
    }),
  });

builder.queryFields((t) => ({
  predictionRun: t.withAuth({ authenticated: true }).field({
    type: PredictionRunRef,
    nullable: true,
    description: 'One batch prediction run; null when not visible.',
    args: { id: t.arg.globalID({ for: [PredictionRunRef], required: true }) },
    resolve: (_root, { id }) => id.id,
  }),
}));

builder.mutationFields((t) => ({
  batchPredict: t.withAuth({ role: 'ANALYST' }).field({
    type: BatchPrediction,
    description:
      'Queues a batch prediction: a worker predicts for every row of a dataset version you may read (through the access gate) and writes the rows with a `prediction` column (and `probability` for classification) as a new dataset, with progress on `datasetIngestion(versionId:)` and on its `run`.',
    errors,
    args: {
      versionId: t.arg.globalID({ for: [ModelVersionRef], required: true }),
      datasetVersionId: t.arg.globalID({ for: [DatasetVersionRef], required: true }),
      newDatasetName: t.arg.string({ description: 'Name of the new dataset (default derived).' }),
    },
    resolve: (_root, args, ctx) =>
      startBatchPrediction(
        ctx,
        {
          modelVersionId: args.versionId.id,
          datasetVersionId: args.datasetVersionId.id,
          newDatasetName: args.newDatasetName,
        },
        (runId) => ctx.jobs.send(BATCH_PREDICT_JOB, { runId }),
      ),
  }),
  trainModel: t.withAuth({ role: 'ANALYST' }).field({
    type: TrainingRunRef,
    description:
      'Queues a training run (analysts and up); follow it with Subscription.trainingProgress.',
    errors,
    args: { input: t.arg({ type: TrainModelInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      registry.trainModel(
        ctx,
        {
          ...input,
          modelId: input.modelId?.id,
          datasetId: input.datasetId?.id,
          // Unset hyperparameters take the defaults: drop explicit nulls.
          hyperparameters: input.hyperparameters
            ? Object.fromEntries(
                Object.entries(input.hyperparameters).filter(([, v]) => v !== null),
              )
            : null,
        },
        async (runId) => {
          await ctx.jobs.send(TRAIN_JOB, { runId });
        },
      ),
  }),
  cancelTrainingRun: t.withAuth({ role: 'ANALYST' }).field({
    type: TrainingRunRef,
    description: 'Cancels a queued run at once, or a running one after its current epoch.',
    errors,
    args: { id: t.arg.globalID({ for: [TrainingRunRef], required: true }) },
    resolve: (_root, { id }, ctx) => registry.cancelRun(ctx, id.id),
  }),
  setModelAlias: t.withAuth({ role: 'ADMIN' }).field({
    type: ModelRef,
    description: 'Points an alias (e.g. production) at a version; one version per alias (admins).',
    errors,
    args: {
      modelId: t.arg.globalID({ for: [ModelRef], required: true }),
      alias: t.arg.string({ required: true }),
      versionId: t.arg.globalID({ for: [ModelVersionRef], required: true }),
      reason: t.arg.string({
        description: 'Why, for the alias history (e.g. "challenger reviewed").',
        validate: z.string().max(500),
      }),
    },
    resolve: (_root, args, ctx) =>
      registry.setAlias(ctx, {
        modelId: args.modelId.id,
        alias: args.alias,
        versionId: args.versionId.id,
        reason: args.reason,
      }),
  }),
  removeModelAlias: t.withAuth({ role: 'ADMIN' }).field({
    type: ModelRef,
    description: 'Removes an alias (admins); the history keeps it.',
    errors,
    args: {
      modelId: t.arg.globalID({ for: [ModelRef], required: true }),
      alias: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      registry.removeAlias(ctx, { modelId: args.modelId.id, alias: args.alias }),
  }),
}));

/** What a training event needs: the model, visible to the subscriber as its rights are now. */
function modelAccess(modelId: string) {
  return {
    resource: `model:${modelId}`,
    check: (ctx: AuthedContext) => registry.findModel(ctx, modelId),
  };
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * A training event as the subscriber may see it: loss and metrics describe the target, so they
 * are left out for a subscriber who may not see the run's outputs — decided per event, with the
 * subscriber's rights as they are now.
 */
async function withheld(ctx: AuthedContext, event: TrainingEvent): Promise<TrainingEvent> {
  // Once per viewer and event, however many of the viewer's subscriptions receive it.
  const visible = await perViewer(ctx, event, `outputs:${event.runId}`, async () =>
    (await registry.outputsVisible(ctx, [event.runId])).get(event.runId),
  );
  return visible ? event : { ...event, loss: null, valLoss: null, metrics: null };
}

function snapshot(run: Run): TrainingEvent {
  const last = (run.history.at(-1) ?? null) as Record<string, unknown> | null;
  return {
    kind: 'STATUS',
    runId: run.id,
    modelId: run.modelId,
    orgId: run.orgId,
    status: run.status,
    epoch: (last?.epoch as number) ?? null,
    totalEpochs: run.totalEpochs,
    step: run.step,
    totalSteps: run.totalSteps,
    candidate: run.phase ?? (last?.candidate as string) ?? null,
    loss: (last?.loss as number) ?? null,
    valLoss: (last?.valLoss as number) ?? null,
    metrics: (last?.metrics as Record<string, number>) ?? null,
    samplesPerSecond: null,
    etaSeconds: null,
    error: run.error,
    at: new Date().toISOString(),
  };
}

builder.subscriptionFields((t) => ({
  trainingProgress: t.withAuth({ authenticated: true }).field({
    type: EpochRef,
    description:
      "A run's current state, then one event per epoch and every status change; completes after SUCCEEDED, FAILED or CANCELLED.",
    args: { runId: t.arg.globalID({ for: [TrainingRunRef], required: true }) },
    subscribe: async (_root, { runId }, ctx) => {
      const run = await registry.findRun(ctx, runId.id);
      return openStream(ctx, {
        source: ctx.events.subscribe(`trainingProgress:${run.id}`),
        current: async () => snapshot(await registry.findRun(ctx, run.id)),
        accept: (e) => e.orgId === ctx.viewer.orgId,
        access: modelAccess(run.modelId),
        terminal: (e) => TERMINAL.has(e.status),
      });
    },
    resolve: (event, _args, ctx) => withheld(ctx, event),
  }),
  trainingRuns: t.withAuth({ authenticated: true }).field({
    type: EpochRef,
    description: 'Status changes of every run of a model.',
    args: { modelId: t.arg.globalID({ for: [ModelRef], required: true }) },
    subscribe: async (_root, { modelId }, ctx) => {
      const model = await registry.findModel(ctx, modelId.id);
      return openStream(ctx, {
        source: ctx.events.subscribe(`trainingRuns:${model.id}`),
        accept: (e) => e.kind === 'STATUS' && e.orgId === ctx.viewer.orgId,
        access: modelAccess(model.id),
      });
    },
    resolve: (event, _args, ctx) => withheld(ctx, event),
  }),
}));
