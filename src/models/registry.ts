import { and, asc, desc, eq, inArray, lte, type SQL, sql } from 'drizzle-orm';
import { asJson, type Db, isUniqueViolation } from '../../db/client';
import { datasetColumns, datasets } from '../../db/schema/datasets';
import {
  type Model,
  type ModelVersion,
  modelAliasEvents,
  modelAliases,
  models,
  modelVersions,
  type RunTrigger,
  type TrainingRun,
  trainingRuns,
} from '../../db/schema/models';
import { openGate } from '../access/gate';
import { accessOfVersions, datasetVisibleTo, readsInClear } from '../access/visibility';
import type { Viewer } from '../auth/viewer';
import type { AuthedContext } from '../context';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '../errors';
import type { EventBus } from '../events/bus';
import { runsOf } from '../jobs/runs';
import { aliasChanged, aliasTarget, predictRows, readyVersion } from './cache';
import { planCandidates, plannedSteps } from './candidates';
import type { TrainingEvent } from './events';
import type { Prediction } from './train';
import type { Algorithm, EpochEvent, Hyperparameters, Task } from './types';

export const METRIC_NAMES = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'rocAuc',
  'logLoss',
  'rmse',
  'mae',
  'r2',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Publishes a run's change to its own channel and its model's. Call after the write. */
export function publishRun(
  events: EventBus,
  run: Pick<
    TrainingRun,
    | 'id'
    | 'modelId'
    | 'orgId'
    | 'status'
    | 'error'
    | 'totalEpochs'
    | 'step'
    | 'totalSteps'
    | 'phase'
  >,
  epoch: EpochEvent | null = null,
): void {
  const event: TrainingEvent = {
    kind: epoch ? 'EPOCH' : 'STATUS',
    runId: run.id,
    modelId: run.modelId,
    orgId: run.orgId,
    status: run.status,
    epoch: epoch?.epoch ?? null,
    totalEpochs: epoch?.totalEpochs ?? run.totalEpochs ?? null,
    step: epoch?.step ?? run.step,
    totalSteps: epoch?.totalSteps ?? run.totalSteps ?? null,
    candidate: epoch?.candidate ?? run.phase ?? null,
    loss: epoch?.loss ?? null,
    valLoss: epoch?.valLoss ?? null,
    metrics: epoch?.metrics ?? null,
    samplesPerSecond: epoch?.samplesPerSecond ?? null,
    etaSeconds: epoch?.etaSeconds ?? null,
    error: run.error ?? null,
    at: new Date().toISOString(),
  };
  // One message for both channels: one NOTIFY per change, not one per channel.
  events.publishAll([`trainingProgress:${run.id}`, `trainingRuns:${run.modelId}`], event);
}

/** The state of training runs, moved by the job runtime's one run-state helper. */
export const trainingRunState = runsOf<TrainingRun>({
  noun: 'training run',
  table: trainingRuns,
  publish: (events, run, epoch) => publishRun(events, run, (epoch as EpochEvent) ?? null),
});

/** Models the viewer can see: its org's, over datasets it can see. */
function modelVisible(viewer: Viewer): SQL {
  return and(eq(models.orgId, viewer.orgId), datasetVisibleTo(viewer))!;
}

export async function findModel(ctx: AuthedContext, modelId: string): Promise<Model> {
  const [row] = await ctx.db
    .select({ model: models })
    .from(models)
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(and(eq(models.id, modelId), modelVisible(ctx.viewer)));
  if (!row) throw new NotFoundError('Model');
  return row.model;
}

export async function loadModels(ctx: AuthedContext, ids: readonly string[]): Promise<Model[]> {
  const rows = await ctx.db
    .select({ model: models })
    .from(models)
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(and(inArray(models.id, [...ids]), modelVisible(ctx.viewer)));
  return rows.map((r) => r.model);
}

export async function listModels(ctx: AuthedContext, page: { limit: number; offset: number }) {
  const rows = await ctx.db
    .select({ model: models })
    .from(models)
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(modelVisible(ctx.viewer))
    .orderBy(asc(models.name), asc(models.id))
    .limit(page.limit)
    .offset(page.offset);
  return rows.map((r) => r.model);
}

/** Runs the viewer can see (through their model's dataset), by id, in one statement. */
export async function loadRuns(ctx: AuthedContext, ids: readonly string[]): Promise<TrainingRun[]> {
  const rows = await ctx.db
    .select({ run: trainingRuns })
    .from(trainingRuns)
    .innerJoin(models, eq(models.id, trainingRuns.modelId))
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(and(inArray(trainingRuns.id, [...ids]), modelVisible(ctx.viewer)));
  return rows.map((r) => r.run);
}

export async function findRun(ctx: AuthedContext, runId: string): Promise<TrainingRun> {
  const [run] = await loadRuns(ctx, [runId]);
  if (!run) throw new NotFoundError('TrainingRun');
  return run;
}

/** Runs of models (already known to be visible), newest first. */
export async function runsOfModels(
  ctx: AuthedContext,
  modelIds: readonly string[],
): Promise<TrainingRun[]> {
  return ctx.db
    .select()
    .from(trainingRuns)
    .where(
      and(inArray(trainingRuns.modelId, [...modelIds]), eq(trainingRuns.orgId, ctx.viewer.orgId)),
    )
    .orderBy(desc(trainingRuns.queuedAt), desc(trainingRuns.id));
}

export interface RunFilter {
  modelId?: string | null;
  datasetId?: string | null;
  status?: TrainingRun['status'] | null;
}

/**
 * Runs the viewer can see, filtered, newest first or ordered by a final metric (runs without
 * that metric last), so hundreds of experiments can be compared.
 */
export async function listRuns(
  ctx: AuthedContext,
  filter: RunFilter,
  order: { metric?: MetricName | null; direction?: 'ASC' | 'DESC' | null },
  page: { limit: number; offset: number },
): Promise<TrainingRun[]> {
  const conditions = [modelVisible(ctx.viewer)];
  if (filter.modelId) conditions.push(eq(trainingRuns.modelId, filter.modelId));
  if (filter.datasetId) conditions.push(eq(models.datasetId, filter.datasetId));
  if (filter.status) conditions.push(eq(trainingRuns.status, filter.status));
  const metric = order.metric ? sql`(${trainingRuns.metrics} ->> ${order.metric})::float8` : null;
  const rows = await ctx.db
    .select({ run: trainingRuns })
    .from(trainingRuns)
    .innerJoin(models, eq(models.id, trainingRuns.modelId))
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(and(...conditions))
    .orderBy(
      ...(metric
        ? [
            order.direction === 'ASC'
              ? sql`${metric} asc nulls last`
              : sql`${metric} desc nulls last`,
          ]
        : []),
      desc(trainingRuns.queuedAt),
      desc(trainingRuns.id),
    )
    .limit(page.limit)
    .offset(page.offset);
  return rows.map((r) => r.run);
}

export interface TrainInput {
  modelId?: string | null;
  name?: string | null;
  datasetId?: string | null;
  datasetVersion?: number | null;
  target?: string | null;
  features?: string[] | null;
  /** Features (STRING) read as free text: hashed words and n-grams instead of categories. */
  textFeatures?: string[] | null;
  task?: Task | null;
  algorithm?: Algorithm | null;
  hyperparameters?: Hyperparameters | null;
  trials?: number | null;
  validationSplit?: number | null;
  seed?: number | null;
}

/** Distinct values above which a numeric target is regression rather than classification. */
const CLASSIFICATION_MAX_CLASSES = 20;

/**
 * Queues a training run. A new model is created from `name`, `datasetId` and `target`, or an
 * existing one (`modelId`) is trained again on its dataset's newest (or given) version. The
 * features and target must be readable in clear by the caller: the run later reads its data
 * through the gate as the caller.
 */
export async function trainModel(
  ctx: AuthedContext,
  input: TrainInput,
  send: (runId: string) => Promise<void>,
  trigger: RunTrigger | null = null,
): Promise<TrainingRun> {
  if ((input.modelId == null) === (input.name == null))
    throw new InputError('Give either modelId (retrain) or name (a new model).', 'modelId');
  const model = input.modelId ? await findModel(ctx, input.modelId) : null;
  const datasetId = model?.datasetId ?? input.datasetId;
  if (!datasetId) throw new InputError('datasetId is required for a new model.', 'datasetId');
  const gate = await openGate(ctx, { datasetId, version: input.datasetVersion });
  const columns = new Map(gate.access.columns.map((c) => [c.name, c]));
  const target = model?.target ?? input.target;
  if (!target) throw new InputError('target is required for a new model.', 'target');
  if (model && input.target && input.target !== model.target)
    throw new InputError(`This model predicts "${model.target}".`, 'target');
  // A column hidden from the caller answers exactly as a missing one.
  for (const c of gate.access.columns) if (c.rule === 'HIDE') columns.delete(c.name);
  const targetColumn = columns.get(target);
  if (!targetColumn) throw new InputError(`No column named "${target}".`, 'target');
  const features =
    model?.features ??
    input.features ??
    gate.access.columns.filter((c) => c.name !== target && c.rule === 'CLEAR').map((c) => c.name);
  if (features.length === 0) throw new InputError('At least one feature is needed.', 'features');
  for (const name of [...features, target]) {
    const c = columns.get(name);
    if (!c) throw new InputError(`No column named "${name}".`, 'features');
    if (c.rule !== 'CLEAR')
      throw new ForbiddenError(`Cannot train on column "${name}": you cannot read it in clear.`);
  }
  if (features.includes(target))
    throw new InputError('The target cannot be a feature.', 'features');
  const textFeatures = model?.textFeatures ?? input.textFeatures ?? [];
  for (const name of textFeatures) {
    if (!features.includes(name))
      throw new InputError(`Text feature "${name}" is not one of the features.`, 'textFeatures');
    if (columns.get(name)!.type !== 'STRING')
      throw new InputError(`Text feature "${name}" must be a STRING column.`, 'textFeatures');
  }
  const numericTarget = targetColumn.type === 'INTEGER' || targetColumn.type === 'FLOAT';
  const task: Task =
    model?.task ??
    input.task ??
    (numericTarget &&
    (targetColumn.type === 'FLOAT' ||
      (await distinctCount(ctx, gate.version.id, targetColumn.position)) >
        CLASSIFICATION_MAX_CLASSES)
      ? 'REGRESSION'
      : 'CLASSIFICATION');
  if (task === 'REGRESSION' && !numericTarget)
    throw new InputError(
      `REGRESSION needs a numeric target; "${target}" is ${targetColumn.type}.`,
      'task',
    );
  const algorithm = input.algorithm ?? 'AUTO';
  if (task === 'REGRESSION' && algorithm === 'LOGISTIC_REGRESSION')
    throw new InputError('LOGISTIC_REGRESSION is for classification.', 'algorithm');
  if (task === 'CLASSIFICATION' && algorithm === 'LINEAR_REGRESSION')
    throw new InputError('LINEAR_REGRESSION is for regression.', 'algorithm');
  const split = input.validationSplit ?? 0.2;
  if (!(split > 0 && split < 0.9))
    throw new InputError('validationSplit must be in (0, 0.9).', 'validationSplit');
  const trials = input.trials ?? 1;
  if (!Number.isInteger(trials) || trials < 1 || trials > 50)
    throw new InputError('trials must be between 1 and 50.', 'trials');
  const seed = input.seed ?? Math.floor(Math.random() * 2 ** 31);

  // The model (when new) and its first run are written together: a failure leaves neither.
  let run: TrainingRun;
  try {
    run = await ctx.db.transaction(async (tx) => {
      let modelId = model?.id;
      if (!modelId) {
        const [created] = await tx
          .insert(models)
          .values({
            orgId: ctx.viewer.orgId,
            datasetId,
            name: input.name!.trim(),
            task,
            target,
            features,
            textFeatures,
            createdBy: ctx.viewer.userId,
          })
          .returning();
        modelId = created!.id;
      }
      const [queued] = await tx
        .insert(trainingRuns)
        .values({
          orgId: ctx.viewer.orgId,
          modelId,
          datasetVersionId: gate.version.id,
          config: {
            algorithm,
            hyperparameters: asJson(input.hyperparameters ?? {}),
            trials,
            validationSplit: split,
            task,
          },
          seed,
          totalSteps: plannedSteps(
            planCandidates({
              task,
              algorithm,
              hyperparameters: input.hyperparameters ?? {},
              trials,
              seed,
            }),
          ),
          membershipId: ctx.viewer.membershipId,
          apiKeyId: ctx.viewer.apiKeyId,
          trigger,
        })
        .returning();
      return queued!;
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConflictError(
        `A model named "${input.name}" exists: pass its modelId to retrain it.`,
      );
    throw error;
  }
  try {
    await send(run.id);
  } catch (error) {
    const failed = await trainingRunState.finish(ctx.db, run.id, 'FAILED', {
      error: 'Could not queue the run.',
    });
    publishRun(ctx.events, failed);
    throw error;
  }
  publishRun(ctx.events, run);
  ctx.log.info({ runId: run.id, modelId: run.modelId }, 'training run queued');
  return run;
}

async function distinctCount(
  ctx: AuthedContext,
  versionId: string,
  position: number,
): Promise<number> {
  const [column] = await ctx.db
    .select({ n: datasetColumns.distinctEstimate })
    .from(datasetColumns)
    .where(and(eq(datasetColumns.versionId, versionId), eq(datasetColumns.position, position)));
  return column?.n ?? 0;
}

/** Cancels a queued run at once; asks a running one to stop after its current epoch. */
export async function cancelRun(ctx: AuthedContext, runId: string): Promise<TrainingRun> {
  const run = await findRun(ctx, runId);
  const changed = await trainingRunState.cancel(ctx.db, run.id);
  if (!changed) {
    const ended = await findRun(ctx, runId);
    throw new ConflictError(`The run already ended (${ended.status}).`);
  }
  if (changed.status === 'CANCELLED') {
    publishRun(ctx.events, changed);
    return changed;
  }
  // The flag is the record; the message reaches the supervising process (any process, through
  // the bus) at once, so the child stops at the end of the epoch it is in.
  ctx.events.publish(`trainingControl:${run.id}`, { action: 'CANCEL' });
  return changed;
}

export async function versionsOfModels(ctx: AuthedContext, modelIds: readonly string[]) {
  return ctx.db
    .select()
    .from(modelVersions)
    .where(inArray(modelVersions.modelId, [...modelIds]))
    .orderBy(desc(modelVersions.number));
}

/** Model versions the viewer can see, by id, in one statement. */
export async function loadModelVersions(
  ctx: AuthedContext,
  ids: readonly string[],
): Promise<ModelVersion[]> {
  const rows = await ctx.db
    .select({ version: modelVersions })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .innerJoin(datasets, eq(datasets.id, models.datasetId))
    .where(and(inArray(modelVersions.id, [...ids]), modelVisible(ctx.viewer)));
  return rows.map((r) => r.version);
}

export async function findVersion(ctx: AuthedContext, versionId: string): Promise<ModelVersion> {
  const [version] = await loadModelVersions(ctx, [versionId]);
  if (!version) throw new NotFoundError('ModelVersion');
  return version;
}

const ALIAS = /^[a-z][a-z0-9_-]{0,62}$/;

/** The version holding `alias` now, or at `at` when given (from the alias history). */
export async function versionByAlias(
  ctx: AuthedContext,
  modelId: string,
  alias: string,
  at: Date | null = null,
): Promise<ModelVersion | null> {
  await findModel(ctx, modelId);
  let versionId: string | null | undefined;
  if (at) {
    const [event] = await ctx.db
      .select()
      .from(modelAliasEvents)
      .where(
        and(
          eq(modelAliasEvents.modelId, modelId),
          eq(modelAliasEvents.alias, alias),
          lte(modelAliasEvents.at, at),
        ),
      )
      .orderBy(desc(modelAliasEvents.at), desc(modelAliasEvents.id))
      .limit(1);
    versionId = event?.versionId;
  } else {
    const [row] = await ctx.db
      .select()
      .from(modelAliases)
      .where(and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, alias)));
    versionId = row?.versionId;
  }
  if (!versionId) return null;
  const [version] = await ctx.db
    .select()
    .from(modelVersions)
    .where(eq(modelVersions.id, versionId));
  return version ?? null;
}

export async function aliasesOf(ctx: AuthedContext, versionIds: readonly string[]) {
  return ctx.db
    .select()
    .from(modelAliases)
    .where(inArray(modelAliases.versionId, [...versionIds]));
}

export async function aliasHistory(ctx: AuthedContext, modelId: string, alias: string | null) {
  await findModel(ctx, modelId);
  const conditions = [eq(modelAliasEvents.modelId, modelId)];
  if (alias) conditions.push(eq(modelAliasEvents.alias, alias));
  return ctx.db
    .select()
    .from(modelAliasEvents)
    .where(and(...conditions))
    .orderBy(desc(modelAliasEvents.at), desc(modelAliasEvents.id));
}

/** Points `alias` at a version of the model (one version per alias) and records the change. */
export async function setAlias(
  ctx: AuthedContext,
  input: { modelId: string; alias: string; versionId: string; reason?: string | null },
): Promise<Model> {
  const model = await findModel(ctx, input.modelId);
  if (!ALIAS.test(input.alias))
    throw new InputError(
      'An alias is lowercase letters, digits, - and _, starting with a letter.',
      'alias',
    );
  const version = await findVersion(ctx, input.versionId);
  if (version.modelId !== model.id)
    throw new InputError('That version belongs to another model.', 'versionId');
  await ctx.db.transaction((tx) =>
    writeAlias(tx, {
      modelId: model.id,
      alias: input.alias,
      versionId: version.id,
      changedBy: ctx.viewer.userId,
      reason: input.reason?.trim() || null,
    }),
  );
  aliasChanged(ctx.events, { modelId: model.id, alias: input.alias });
  return model;
}

/**
 * The one writer of an alias: points it at a version and appends the change, with who made it
 * (null for a rule) and why, to the alias history. Run inside the caller's transaction.
 */
export async function writeAlias(
  tx: Db,
  change: {
    modelId: string;
    alias: string;
    versionId: string;
    changedBy: string | null;
    reason: string | null;
  },
): Promise<void> {
  await tx
    .insert(modelAliases)
    .values({ modelId: change.modelId, alias: change.alias, versionId: change.versionId })
    .onConflictDoUpdate({
      target: [modelAliases.modelId, modelAliases.alias],
      set: { versionId: change.versionId, updatedAt: new Date() },
    });
  await tx.insert(modelAliasEvents).values(change);
}

export async function removeAlias(
  ctx: AuthedContext,
  input: { modelId: string; alias: string },
): Promise<Model> {
  const model = await findModel(ctx, input.modelId);
  await ctx.db.transaction(async (tx) => {
    const removed = await tx
      .delete(modelAliases)
      .where(and(eq(modelAliases.modelId, model.id), eq(modelAliases.alias, input.alias)))
      .returning();
    if (removed.length === 0) throw new NotFoundError('ModelAlias');
    await tx.insert(modelAliasEvents).values({
      modelId: model.id,
      alias: input.alias,
      versionId: null,
      changedBy: ctx.viewer.userId,
    });
  });
  aliasChanged(ctx.events, { modelId: model.id, alias: input.alias });
  return model;
}

/**
 * Whether each run's outputs — the model version it made, its predictions, metrics and per-epoch
 * history — may be shown to the viewer. A model's outputs inherit the rule of its target and its
 * inputs those of its features: the viewer must read the target and every feature in clear on
 * the version the run learned from, under the viewer's policy now, in every row — or, under a
 * row filter, be the caller who started the run (the model then learned only from rows they
 * could read). Runs the viewer cannot see at all are false.
 */
export async function outputsVisible(
  ctx: AuthedContext,
  runIds: readonly string[],
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>(runIds.map((id) => [id, false]));
  if (runIds.length === 0) return out;
  const facts = new Map<string, RunFacts>();
  const missing = runIds.filter((id) => {
    const known = succeededRuns.get(id);
    if (known) facts.set(id, known);
    return !known;
  });
  if (missing.length > 0) {
    const rows = await ctx.db
      .select({ run: trainingRuns, target: models.target, features: models.features })
      .from(trainingRuns)
      .innerJoin(models, eq(models.id, trainingRuns.modelId))
      .innerJoin(datasets, eq(datasets.id, models.datasetId))
      .where(and(inArray(trainingRuns.id, [...missing]), modelVisible(ctx.viewer)));
    for (const { run, target, features } of rows) {
      const known: RunFacts = {
        datasetVersionId: run.datasetVersionId,
        membershipId: run.membershipId,
        apiKeyId: run.apiKeyId,
        readsNeeded: [...features, target],
      };
      facts.set(run.id, known);
      if (run.status === 'SUCCEEDED') {
        if (succeededRuns.size >= MAX_RUN_FACTS) succeededRuns.clear();
        succeededRuns.set(run.id, known);
      }
    }
  }
  // Whether the viewer sees the run's dataset at all (org, a policy naming an API key) and which
  // columns in clear: the access caches, kept true by every policy, column or dataset change.
  const accesses = await accessOfVersions(
    ctx,
    [...facts.values()].map((f) => f.datasetVersionId),
  );
  const viewer = ctx.viewer;
  for (const [runId, f] of facts) {
    const access = accesses.get(f.datasetVersionId);
    if (!access) continue;
    const own =
      (viewer.membershipId !== null && f.membershipId === viewer.membershipId) ||
      (viewer.apiKeyId !== null && f.apiKeyId === viewer.apiKeyId);
    out.set(runId, readsInClear(own ? { ...access, rowFilter: null } : access, f.readsNeeded));
  }
  return out;
}

/** What `outputsVisible` needs of a run; never changes once the run has SUCCEEDED. */
interface RunFacts {
  datasetVersionId: string;
  membershipId: string | null;
  apiKeyId: string | null;
  /** The model's features and target. */
  readsNeeded: string[];
}

/**
 * Facts of succeeded runs, by run id: whom they were trained for and on what (a model's
 * features and target never change). Visibility itself is decided afresh on every call, from
 * the access caches; a deleted dataset takes its version out of them, and the run with it.
 */
const succeededRuns = new Map<string, RunFacts>();
const MAX_RUN_FACTS = 10_000;

/** Refuses a caller who may not see a model version's outputs (see `outputsVisible`). */
export async function assertOutputsVisible(ctx: AuthedContext, version: ModelVersion) {
  if (!(await outputsVisible(ctx, [version.runId])).get(version.runId))
    throw new ForbiddenError(
      'You cannot predict with this model: you cannot read its target and features in clear in every row it learned from.',
    );
}

/**
 * Predicts with a model version, chosen by id or by the model's alias: the artifact's own
 * preprocessing is applied, so a missing or wrongly typed feature is an error naming it. Only a
 * caller who may see the model's outputs predicts (`outputsVisible`).
 */
export async function predictWith(
  ctx: AuthedContext,
  target: { versionId?: string | null; modelId?: string | null; alias?: string | null },
  rows: unknown[],
): Promise<{ version: ModelVersion; predictions: Prediction[] }> {
  let version: ModelVersion | null;
  // A ready version whose outputs the caller may see is answered after that one check (which
  // also proves the version visible); any other case takes the checks that name the refusal.
  const ready = await readyAndAllowed(ctx, target);
  if (ready) version = ready;
  else if (target.versionId) version = await findVersion(ctx, target.versionId);
  else if (target.modelId && target.alias) {
    const model = await findModel(ctx, target.modelId);
    const versionId = await aliasOf(ctx, model.id, target.alias);
    version = versionId ? (readyVersion(versionId) ?? (await versionRow(ctx, versionId))) : null;
  } else throw new InputError('Give versionId, or modelId with alias.', 'versionId');
  if (!version)
    throw target.versionId
      ? new NotFoundError('ModelVersion')
      : new NotFoundError(`A version of this model with the alias "${target.alias}"`);
  if (version !== ready) await assertOutputsVisible(ctx, version);
  if (rows.length === 0 || rows.length > 10_000)
    throw new InputError('Give 1 to 10,000 rows.', 'rows');
  for (const [i, row] of rows.entries()) {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new InputError(`Row ${i + 1} is not an object of feature values.`, 'rows');
  }
  const predictions = await predictRows(
    ctx.config.tfBackend,
    version,
    rows as Array<Record<string, unknown>>,
  );
  return { version, predictions };
}

/** The version an alias of a model names now, remembered until the alias changes. */
function aliasOf(ctx: AuthedContext, modelId: string, alias: string): Promise<string | null> {
  return aliasTarget(ctx.events, { modelId, alias }, async () => {
    const [row] = await ctx.db
      .select({ versionId: modelAliases.versionId })
      .from(modelAliases)
      .where(and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, alias)));
    return row?.versionId ?? null;
  });
}

/**
 * The version asked for, when it is ready in memory and the caller may see its outputs — one
 * statement (`outputsVisible` sees only runs of models the caller can see). Otherwise null.
 */
async function readyAndAllowed(
  ctx: AuthedContext,
  target: { versionId?: string | null; modelId?: string | null; alias?: string | null },
): Promise<ModelVersion | null> {
  let known: ModelVersion | undefined;
  if (target.versionId) known = readyVersion(target.versionId);
  else if (target.modelId && target.alias) {
    const versionId = await aliasOf(ctx, target.modelId, target.alias);
    known = versionId ? readyVersion(versionId) : undefined;
    if (known && known.modelId !== target.modelId) known = undefined;
  }
  if (!known) return null;
  return (await outputsVisible(ctx, [known.runId])).get(known.runId) ? known : null;
}

/** A version row by id, of a model already known to be visible. */
async function versionRow(ctx: AuthedContext, versionId: string): Promise<ModelVersion | null> {
  const [version] = await ctx.db
    .select()
    .from(modelVersions)
    .where(eq(modelVersions.id, versionId));
  return version ?? null;
}
