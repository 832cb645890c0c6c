/**
 * Training and prediction for tabular data on TensorFlow.js, with our own batch loop so that
 * every random draw (split, shuffles, initial weights, dropout masks) comes from a seeded stream.
 *
 * Data flow: rows with a null target are dropped; a seeded permutation holds out
 * `validationSplit` of the rows as the test set that the returned `metrics` are computed on.
 * With several candidates (AUTO, or trials > 1) a further 20% of the training rows is carved out
 * as a validation set; each candidate is fitted (its own preprocessing, fitted on its training
 * part only) and scored there (accuracy / R², ties to the earlier candidate), and the winner is
 * refitted on all training rows with the same hyperparameters (candidate name `<name>:refit`).
 *
 * Cancellation: `shouldStop()` is checked before each candidate and after each epoch (after
 * `onEpoch` resolves); on true the run stops at once with `cancelled: true`. The returned model
 * is then the best candidate that completed (the pre-refit winner if the refit was stopped), or
 * else the partially trained one, and `metrics` are computed on the test set for that model.
 * `epochsDone` counts completed epochs over all candidates and the refit; each epoch event carries
 * it as `step`, with `totalSteps` for the whole run.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { InputError } from '../errors';
import { type BackendInfo, backendForRun, currentBackend } from './backend';
import { type Candidate, planCandidates, plannedSteps, type Resolved } from './candidates';
import { classificationMetrics, regressionMetrics } from './metrics';
import { type Matrix, numericValue, Preprocessor } from './preprocess';
import { createRng, permutation, type Rng } from './random';
import {
  type ConcreteAlgorithm,
  type DenseLayer,
  type EpochEvent,
  FeatureError,
  type Hyperparameters,
  type Metrics,
  type ModelArtifact,
  type Task,
  type TrainConfig,
  type TrainingData,
  type TrainOutput,
} from './types';

export interface TrainHooks {
  /** The backend the run trains on, once chosen (before the first epoch). */
  onBackend?(info: BackendInfo): void | Promise<void>;
  onEpoch?(e: EpochEvent): void | Promise<void>;
  shouldStop?(): boolean;
}

export interface Prediction {
  value: string | number;
  probabilities: Record<string, number> | null;
}

/** Share of the training rows held out to choose between candidates. */
const SELECTION_SPLIT = 0.2;
/** Rows per inference call, to bound tensor memory when predicting many rows. */
const INFER_CHUNK = 8192;
/** Training rows the per-epoch training metric is computed on (they are in random order). */
const EPOCH_METRIC_ROWS = 10_000;

const hyperparametersSchema = z.strictObject({
  epochs: z.number().int().min(1).max(100_000).optional(),
  learningRate: z.number().positive().max(10).optional(),
  batchSize: z.number().int().min(1).max(1_000_000).optional(),
  hiddenUnits: z.array(z.number().int().min(1).max(4096)).max(16).optional(),
  l2: z.number().min(0).max(100).optional(),
  dropout: z.number().min(0).lt(1).optional(),
});
const configSchema = z.object({
  task: z.enum(['CLASSIFICATION', 'REGRESSION']),
  algorithm: z.enum(['LOGISTIC_REGRESSION', 'LINEAR_REGRESSION', 'MLP', 'AUTO']),
  hyperparameters: hyperparametersSchema.optional(),
  trials: z.number().int().min(1).max(200).optional(),
  validationSplit: z.number().min(0).lt(1).optional(),
  seed: z.number().int(),
});

function parseConfig(config: TrainConfig) {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new InputError(
      `Invalid training config at ${field || '(root)'}: ${issue.message}`,
      field,
    );
  }
  const c = parsed.data;
  const mismatch =
    (c.task === 'REGRESSION' && c.algorithm === 'LOGISTIC_REGRESSION') ||
    (c.task === 'CLASSIFICATION' && c.algorithm === 'LINEAR_REGRESSION');
  if (mismatch) throw new InputError(`${c.algorithm} cannot do ${c.task}.`, 'algorithm');
  return c;
}

function publicHyperparameters(algorithm: ConcreteAlgorithm, hp: Resolved): Hyperparameters {
  const { epochs, learningRate, batchSize, l2 } = hp;
  return algorithm === 'MLP'
    ? { epochs, learningRate, batchSize, hiddenUnits: [...hp.hiddenUnits], l2, dropout: hp.dropout }
    : { epochs, learningRate, batchSize, l2 };
}

/** Labels sort numerically when they all look like numbers ('2' < '10'), else as strings. */
function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return labels.sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

interface Examples {
  rows: Array<Record<string, unknown>>;
  /** Class index per row (classification). */
  classIndex: Int32Array | null;
  /** Target per row (regression). */
  value: Float64Array | null;
  classes: string[] | null;
}

function prepareExamples(data: TrainingData, task: Task): Examples {
  const { target, features } = data;
  if (!features.length) throw new FeatureError(target.name, 'At least one feature is required.');
  const names = new Set<string>();
  for (const f of features) {
    if (f.name === target.name) {
      throw new FeatureError(f.name, `"${f.name}" is the target and cannot also be a feature.`);
    }
    if (names.has(f.name)) throw new FeatureError(f.name, `Feature "${f.name}" is listed twice.`);
    names.add(f.name);
  }
  const rows: Array<Record<string, unknown>> = [];
  const raw: unknown[] = [];
  for (const row of data.rows) {
    const y = row?.[target.name];
    if (y === null || y === undefined || (typeof y === 'string' && y.trim() === '')) continue;
    rows.push(row);
    raw.push(y);
  }
  if (rows.length < 2) {
    throw new FeatureError(
      target.name,
      `Training needs at least 2 rows with a value for "${target.name}"; found ${rows.length}.`,
    );
  }
  if (task === 'REGRESSION') {
    if (target.type === 'STRING' || target.type === 'CATEGORY') {
      throw new FeatureError(target.name, `Regression needs a numeric target, not ${target.type}.`);
    }
    const value = Float64Array.from(raw, (y) => numericValue(target, y)!);
    return { rows, classIndex: null, value, classes: null };
  }
  const labels = raw.map((y) => {
    if (typeof y === 'object') {
      throw new FeatureError(target.name, `Target "${target.name}" has a non-scalar value.`);
    }
    return String(y);
  });
  const classes = sortLabels([...new Set(labels)]);
  if (classes.length < 2) {
    throw new FeatureError(
      target.name,
      `Classification needs at least 2 classes in "${target.name}"; found only ${JSON.stringify(classes[0])}.`,
    );
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const classIndex = Int32Array.from(labels, (l) => index.get(l)!);
  return { rows, classIndex, value: null, classes };
}

// ---------------------------------------------------------------------------------------------
// Model: dense layers held as tensors, the same forward pass for training and inference.

interface LayerTensors {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
  activation: DenseLayer['activation'];
  dropout: number;
}

/** Glorot-uniform kernels from the seeded stream (backend-independent), zero biases. */
function initLayers(
  inputs: number,
  hidden: number[],
  outputs: number,
  task: Task,
  dropout: number,
  rng: Rng,
): Array<LayerTensors & { kernel: tf.Variable<tf.Rank.R2>; bias: tf.Variable<tf.Rank.R1> }> {
  const sizes = [inputs, ...hidden, outputs];
  return sizes.slice(1).map((units, l) => {
    const fanIn = sizes[l]!;
    const limit = Math.sqrt(6 / (fanIn + units));
    const w = new Float32Array(fanIn * units);
    for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * limit;
    const last = l === hidden.length;
    return {
      // Variables keep their own reference to the initial values, so those can be tidied.
      kernel: tf.tidy(() => tf.variable(tf.tensor2d(w, [fanIn, units]))),
      bias: tf.tidy(() => tf.variable(tf.zeros([units]) as tf.Tensor1D)),
      activation: last ? (task === 'CLASSIFICATION' ? 'softmax' : 'linear') : 'relu',
      dropout: last ? 0 : dropout,
    };
  });
}

/** Pre-activation output of the last layer (logits for classification). */
function forward(layers: LayerTensors[], x: tf.Tensor2D, dropoutSeed: Rng | null): tf.Tensor2D {
  let h = x;
  layers.forEach((layer, i) => {
    h = tf.add(tf.matMul(h, layer.kernel), layer.bias);
    if (i < layers.length - 1) {
      h = tf.relu(h);
      if (dropoutSeed && layer.dropout > 0) {
        h = tf.dropout(h, layer.dropout, undefined, dropoutSeed.seed()) as tf.Tensor2D;
      }
    }
  });
  return h;
}

/** Model outputs (class probabilities, or the standardized regression value), row-major. */
async function infer(layers: LayerTensors[], x: Matrix): Promise<Float32Array> {
  const width = layers[layers.length - 1]!.kernel.shape[1];
  const out = new Float32Array(x.rows * width);
  for (let start = 0; start < x.rows; start += INFER_CHUNK) {
    const end = Math.min(x.rows, start + INFER_CHUNK);
    const y = tf.tidy(() => {
      const chunk = tf.tensor2d(x.data.subarray(start * x.cols, end * x.cols), [
        end - start,
        x.cols,
      ]);
      const z = forward(layers, chunk, null);
      return layers[layers.length - 1]!.activation === 'softmax' ? tf.softmax(z) : z;
    });
    out.set(await y.data(), start * width);
    y.dispose();
  }
  return out;
}

function decode(output: Float32Array, target: ModelArtifact['target']): Prediction[] {
  const { classes } = target;
  if (!classes) {
    return Array.from(output, (z) => ({
      value: z * target.std! + target.mean!,
      probabilities: null,
    }));
  }
  const k = classes.length;
  const n = output.length / k;
  const out: Prediction[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    const probabilities: Record<string, number> = {};
    for (let j = 0; j < k; j++) {
      const p = output[i * k + j]!;
      probabilities[classes[j]!] = p;
      if (p > output[i * k + best]!) best = j;
    }
    out.push({ value: classes[best]!, probabilities });
  }
  return out;
}

function score(predictions: Prediction[], examples: Examples, idx: Int32Array): Metrics {
  if (!idx.length) return {};
  if (examples.classes) {
    const classes = examples.classes;
    return classificationMetrics(
      Array.from(idx, (i) => classes[examples.classIndex![i]!]!),
      predictions.map((p) => String(p.value)),
      predictions.map((p) => classes.map((c) => p.probabilities![c]!)),
      classes,
    );
  }
  return regressionMetrics(
    Array.from(idx, (i) => examples.value![i]!),
    predictions.map((p) => p.value as number),
  );
}

// ---------------------------------------------------------------------------------------------
// One candidate: fit the pipeline on its training part, run the epochs, score on validation.

interface Fitted {
  candidate: Candidate;
  artifact: ModelArtifact;
  validation: Metrics;
  /** Predictions for the test rows from the in-memory model (not via the artifact). */
  test: Prediction[];
  completed: boolean;
}

interface RunState {
  epochsDone: number;
  /**
   * Epochs the run will take. Before the refit's winner is known it counts the longest
   * candidate for it (an upper bound), so progress may jump ahead but never passes 100 %.
   */
  totalSteps: number;
  cancelled: boolean;
}

function targetStats(examples: Examples, idx: Int32Array) {
  if (!examples.value) return { mean: null, std: null };
  let mean = 0;
  for (const i of idx) mean += examples.value[i]!;
  mean /= idx.length;
  let ss = 0;
  for (const i of idx) ss += (examples.value[i]! - mean) ** 2;
  const std = Math.sqrt(ss / idx.length);
  return { mean, std: std > 1e-12 ? std : 1 };
}

function targetMatrix(
  examples: Examples,
  idx: Int32Array,
  stats: { mean: number | null; std: number | null },
): tf.Tensor2D {
  if (examples.classes) {
    const k = examples.classes.length;
    const y = new Float32Array(idx.length * k);
    idx.forEach((i, r) => {
      y[r * k + examples.classIndex![i]!] = 1;
    });
    return tf.tensor2d(y, [idx.length, k]);
  }
  return tf.tensor2d(
    Float32Array.from(idx, (i) => (examples.value![i]! - stats.mean!) / stats.std!),
    [idx.length, 1],
  );
}

async function fitCandidate(
  candidate: Candidate,
  data: TrainingData,
  task: Task,
  examples: Examples,
  trainIdx: Int32Array,
  valIdx: Int32Array,
  testIdx: Int32Array,
  rng: Rng,
  hooks: TrainHooks,
  state: RunState,
): Promise<Fitted> {
  const { hp } = candidate;
  const pick = (idx: Int32Array) => Array.from(idx, (i) => examples.rows[i]!);
  const pipeline = Preprocessor.fit(data.features, pick(trainIdx));
  const stats = targetStats(examples, trainIdx);
  const xTrain = pipeline.transform(pick(trainIdx));
  const xVal = valIdx.length ? pipeline.transform(pick(valIdx)) : null;
  const outputs = examples.classes?.length ?? 1;
  const n = trainIdx.length;

  const layers = initLayers(pipeline.width, hp.hiddenUnits, outputs, task, hp.dropout, rng);
  const variables = layers.flatMap((l) => [l.kernel, l.bias]);
  const optimizer = tf.train.adam(hp.learningRate);
  const xT = tf.tensor2d(xTrain.data, [n, xTrain.cols]);
  const yT = targetMatrix(examples, trainIdx, stats);
  const xV = xVal ? tf.tensor2d(xVal.data, [xVal.rows, xVal.cols]) : null;
  const yV = xVal ? targetMatrix(examples, valIdx, stats) : null;
  const sample = Math.min(n, EPOCH_METRIC_ROWS);
  const xS = sample < n ? xT.slice([0, 0], [sample, -1]) : xT;
  const yS = sample < n ? yT.slice([0, 0], [sample, -1]) : yT;

  const dataLoss = (y: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar =>
    task === 'CLASSIFICATION'
      ? tf.losses.softmaxCrossEntropy(y, z)
      : tf.losses.meanSquaredError(y, z);
  const penalty = (): tf.Scalar =>
    layers
      .reduce<tf.Scalar>((sum, l) => sum.add(tf.sum(tf.square(l.kernel))), tf.scalar(0))
      .mul(hp.l2);
  /** [loss incl. L2 penalty, accuracy or R²] in inference mode. */
  const evaluate = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D =>
    tf.tidy(() => {
      const z = forward(layers, x, null);
      const loss = dataLoss(y, z).add(penalty());
      const quality =
        task === 'CLASSIFICATION'
          ? tf.mean(tf.cast(tf.equal(tf.argMax(z, 1), tf.argMax(y, 1)), 'float32'))
          : tf
              .scalar(1)
              .sub(
                tf.sum(tf.square(y.sub(z))).div(tf.sum(tf.square(y.sub(tf.mean(y)))).add(1e-12)),
              );
      return tf.stack([loss, quality]) as tf.Tensor1D;
    });

  let completed = true;
  const started = performance.now();
  try {
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const t0 = performance.now();
      const order = permutation(n, rng);
      let lossSum = tf.scalar(0);
      for (let start = 0; start < n; start += hp.batchSize) {
        const batch = order.subarray(start, Math.min(n, start + hp.batchSize));
        const dropoutRng = hp.dropout > 0 ? createRng(rng.seed(), 'dropout') : null;
        const loss = tf.tidy(() => {
          const idx = tf.tensor1d(batch, 'int32');
          const xb = tf.gather(xT, idx);
          const yb = tf.gather(yT, idx);
          return optimizer.minimize(
            () => dataLoss(yb, forward(layers, xb, dropoutRng)).add(penalty()),
            true,
            variables,
          )!;
        });
        const next = tf.tidy(() => lossSum.add<tf.Scalar>(loss.mul(batch.length)));
        lossSum.dispose();
        loss.dispose();
        lossSum = next;
      }
      const loss = (await lossSum.data())[0]! / n;
      lossSum.dispose();
      const trainSeconds = (performance.now() - t0) / 1000;

      const trainEval = evaluate(xS, yS);
      const [, trainQuality] = await trainEval.data();
      trainEval.dispose();
      const metricName = task === 'CLASSIFICATION' ? 'accuracy' : 'r2';
      const metrics: Record<string, number> = { [metricName]: trainQuality! };
      let valLoss: number | null = null;
      if (xV && yV) {
        const valEval = evaluate(xV, yV);
        const [vl, vq] = await valEval.data();
        valEval.dispose();
        valLoss = vl!;
        metrics[task === 'CLASSIFICATION' ? 'valAccuracy' : 'valR2'] = vq!;
      }
      state.epochsDone++;
      const perEpoch = (performance.now() - started) / 1000 / epoch;
      await hooks.onEpoch?.({
        candidate: candidate.name,
        epoch,
        totalEpochs: hp.epochs,
        step: state.epochsDone,
        totalSteps: state.totalSteps,
        loss,
        valLoss,
        metrics,
        samplesPerSecond: n / Math.max(trainSeconds, 1e-6),
        etaSeconds: perEpoch * (hp.epochs - epoch),
      });
      // One turn of the event loop per epoch, so a cancel request arriving as I/O (an IPC
      // message, a timer) is seen by shouldStop() even when onEpoch is synchronous.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.()) {
        state.cancelled = true;
        completed = epoch === hp.epochs;
        break;
      }
    }

    const artifact: ModelArtifact = {
      formatVersion: 1,
      task,
      algorithm: candidate.algorithm,
      preprocessing: pipeline.toJSON(),
      target: {
        name: data.target.name,
        type: data.target.type,
        classes: examples.classes ? [...examples.classes] : null,
        ...stats,
      },
      layers: await Promise.all(
        layers.map(async (l) => ({
          kernel: (await l.kernel.array()) as number[][],
          bias: (await l.bias.array()) as number[],
          activation: l.activation,
          dropout: l.dropout,
        })),
      ),
    };
    const validation = xVal
      ? score(decode(await infer(layers, xVal), artifact.target), examples, valIdx)
      : {};
    const test = testIdx.length
      ? decode(await infer(layers, pipeline.transform(pick(testIdx))), artifact.target)
      : [];
    return { candidate, artifact, validation, test, completed };
  } finally {
    tf.dispose([...new Set([xT, yT, xS, yS]), ...(xV && yV ? [xV, yV] : []), ...variables]);
    optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

function quality(m: Metrics): number {
  return m.accuracy ?? m.r2 ?? Number.NEGATIVE_INFINITY;
}

function splitCount(n: number, fraction: number): number {
  if (fraction <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/**
 * The seeded split of `n` usable rows (rows with a non-null target, in input order):
 * `test` gets the final metrics, `validation` (only with several candidates) chooses the model,
 * `train` fits it. Exported so callers and tests can tell which rows were held out.
 */
export function splitRows(
  n: number,
  seed: number,
  validationSplit = 0.2,
  needValidation = false,
): { train: Int32Array; validation: Int32Array; test: Int32Array } {
  const order = permutation(n, createRng(seed, 'split'));
  const nTest = splitCount(n, validationSplit);
  const rest = order.subarray(nTest);
  const nVal = needValidation ? splitCount(rest.length, SELECTION_SPLIT) : 0;
  return {
    test: order.slice(0, nTest),
    train: rest.slice(0, rest.length - nVal),
    validation: rest.slice(rest.length - nVal),
  };
}

/**
 * Trains the configured model(s) and returns the chosen one as a JSON-serializable artifact with
 * its held-out metrics. Throws FeatureError for unusable data, InputError for a bad config.
 */
export async function train(
  data: TrainingData,
  config: TrainConfig,
  hooks: TrainHooks = {},
): Promise<TrainOutput> {
  const cfg = parseConfig(config);
  const examples = prepareExamples(data, cfg.task);

  const candidates = planCandidates(cfg);
  const selecting = candidates.length > 1;
  const split = splitRows(examples.rows.length, cfg.seed, cfg.validationSplit ?? 0.2, selecting);

  // The backend is chosen per run from the models' sizes (WebGPU only where it wins and fits).
  const inputs = Preprocessor.fit(data.features, examples.rows).width;
  const rows = split.train.length + split.validation.length;
  const evalRows = Math.max(
    Math.min(rows, EPOCH_METRIC_ROWS),
    split.validation.length,
    Math.min(split.test.length, INFER_CHUNK),
  );
  const onBackend = await backendForRun(
    candidates.map((c) => ({
      rows,
      inputs,
      hidden: c.hp.hiddenUnits,
      outputs: examples.classes?.length ?? 1,
      batchSize: c.hp.batchSize,
      evalRows,
    })),
  );
  await hooks.onBackend?.(onBackend);

  const state: RunState = {
    epochsDone: 0,
    totalSteps: plannedSteps(candidates),
    cancelled: false,
  };
  const fitted: Fitted[] = [];
  for (const candidate of candidates) {
    if (hooks.shouldStop?.()) {
      state.cancelled = true;
      break;
    }
    const rng = createRng(cfg.seed, 'candidate', candidate.name);
    fitted.push(
      await fitCandidate(
        candidate,
        data,
        cfg.task,
        examples,
        split.train,
        split.validation,
        split.test,
        rng,
        hooks,
        state,
      ),
    );
    if (state.cancelled) break;
  }

  let chosen: Fitted;
  const completed = fitted.filter((f) => f.completed);
  if (completed.length) {
    chosen = completed.reduce((best, f) =>
      quality(f.validation) > quality(best.validation) ? f : best,
    );
  } else if (fitted.length) {
    chosen = fitted[fitted.length - 1]!;
  } else {
    // Stopped before any epoch: return the initialized (untrained) first candidate.
    const first = candidates[0]!;
    chosen = await fitCandidate(
      { ...first, hp: { ...first.hp, epochs: 0 } },
      data,
      cfg.task,
      examples,
      split.train,
      split.validation,
      split.test,
      createRng(cfg.seed, 'candidate', first.name),
      {},
      state,
    );
  }

  let final = chosen;
  if (selecting && !state.cancelled) {
    state.totalSteps = state.epochsDone + chosen.candidate.hp.epochs;
    const all = Int32Array.from([...split.train, ...split.validation]);
    const refit = await fitCandidate(
      { ...chosen.candidate, name: `${chosen.candidate.name}:refit` },
      data,
      cfg.task,
      examples,
      all,
      new Int32Array(0),
      split.test,
      createRng(cfg.seed, 'refit', chosen.candidate.name),
      hooks,
      state,
    );
    if (refit.completed) final = refit;
  }

  return {
    artifact: final.artifact,
    metrics: score(final.test, examples, split.test),
    algorithm: chosen.candidate.algorithm,
    hyperparameters: publicHyperparameters(chosen.candidate.algorithm, chosen.candidate.hp),
    candidates: fitted.map((f) => ({
      name: f.candidate.name,
      algorithm: f.candidate.algorithm,
      hyperparameters: publicHyperparameters(f.candidate.algorithm, f.candidate.hp),
      validation: f.validation,
    })),
    backend: onBackend.backend,
    device: onBackend.device,
    adapter: onBackend.adapter,
    backendReason: onBackend.reason,
    epochsDone: state.epochsDone,
    cancelled: state.cancelled,
  };
}

/**
 * Scores an artifact on the held-out test rows that `train(data, config)` would hold out (the
 * same seeded split), so two versions — one trained elsewhere — are compared on the same rows.
 * Returns the metrics and the name of the one that decides (accuracy, or r2 for regression).
 */
export async function heldOutMetrics(
  artifact: ModelArtifact,
  data: TrainingData,
  config: TrainConfig,
): Promise<{ metrics: Metrics; decisive: 'accuracy' | 'r2'; value: number | null }> {
  const cfg = parseConfig(config);
  const examples = prepareExamples(data, cfg.task);
  const selecting = planCandidates(cfg).length > 1;
  const split = splitRows(examples.rows.length, cfg.seed, cfg.validationSplit ?? 0.2, selecting);
  const decisive = cfg.task === 'REGRESSION' ? 'r2' : 'accuracy';
  if (!split.test.length) return { metrics: {}, decisive, value: null };
  const rows = Array.from(split.test, (i) => examples.rows[i]!);
  const metrics = score(await predict(artifact, rows), examples, split.test);
  const value = metrics[decisive];
  return { metrics, decisive, value: typeof value === 'number' ? value : null };
}

/**
 * Predicts `rows` with a trained artifact: the artifact's fitted preprocessing, then the dense
 * layers rebuilt from its weights. Classification values are labels with probabilities keyed by
 * label; regression values are numbers. Throws FeatureError for a missing or mistyped feature.
 */
export async function predict(
  artifact: ModelArtifact,
  rows: Array<Record<string, unknown>>,
): Promise<Prediction[]> {
  if (artifact.formatVersion !== 1) {
    throw new InputError(`Unsupported model format version ${artifact.formatVersion}.`, 'artifact');
  }
  await currentBackend();
  const x = Preprocessor.fromJSON(artifact.preprocessing).transform(rows);
  const layers: LayerTensors[] = artifact.layers.map((l) => ({
    kernel: tf.tensor2d(l.kernel, [l.kernel.length, l.bias.length], 'float32'),
    bias: tf.tensor1d(l.bias, 'float32'),
    activation: l.activation,
    dropout: l.dropout,
  }));
  try {
    return decode(await infer(layers, x), artifact.target);
  } finally {
    tf.dispose(layers.flatMap((l) => [l.kernel, l.bias]));
  }
}
