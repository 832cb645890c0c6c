/**
 * What predictions keep in memory: model versions ready to run (their preprocessing and weights
 * as tensors), by version id — versions are immutable, so an entry is never stale and only
 * leaves when the least recently used one makes room — and which version each alias names, kept
 * until the bus says the alias changed (`modelAliases`, published by `setAlias`/`removeAlias` in
 * every process). Concurrent calls on one version share one forward pass (`MicroBatcher`).
 * Access is not cached here: the caller checks it on every call before asking.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelVersion } from '../../db/schema/models';
import { InputError } from '../errors';
import type { EventBus } from '../events/bus';
import { type BackendPreference, initBackend } from './backend';
import { MicroBatcher } from './batcher';
import type { ModelAliasChange } from './events';
import { type Matrix, Preprocessor } from './preprocess';
import type { Prediction } from './train';
import type { ModelArtifact } from './types';

/** Model versions kept ready at most. */
export const READY_MODELS = 32;
/** Rows of one forward pass at most (as the batch predictions' inference chunks). */
const MAX_PASS_ROWS = 8192;
/** Calls with more rows than this run on their own rather than in a shared pass. */
const BATCHED_ROWS = 256;

interface Layer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
  softmax: boolean;
}

/** A model version ready to predict with. */
class ReadyModel {
  readonly preprocessor: Preprocessor;
  readonly layers: Layer[];
  readonly target: ModelArtifact['target'];
  readonly batcher: MicroBatcher<Array<Record<string, unknown>>, Prediction[]>;
  /** Passes running on the tensors; an evicted model is disposed when the last one ends. */
  private busy = 0;
  private evicted = false;

  constructor(readonly version: ModelVersion) {
    const artifact = version.artifact as ModelArtifact;
    if (artifact.formatVersion !== 1)
      throw new InputError(
        `Unsupported model format version ${artifact.formatVersion}.`,
        'artifact',
      );
    this.preprocessor = Preprocessor.fromJSON(artifact.preprocessing);
    this.target = artifact.target;
    this.layers = artifact.layers.map((l, i) => ({
      kernel: tf.tensor2d(l.kernel, [l.kernel.length, l.bias.length], 'float32'),
      bias: tf.tensor1d(l.bias, 'float32'),
      softmax: i === artifact.layers.length - 1 && l.activation === 'softmax',
    }));
    this.batcher = new MicroBatcher((calls) => this.predictCalls(calls), 64);
  }

  /** Each call's rows transformed on their own (a bad row fails its call only), then one pass. */
  private async predictCalls(
    calls: Array<Array<Record<string, unknown>>>,
  ): Promise<Array<Prediction[] | Error>> {
    const matrices: Array<Matrix | Error> = calls.map((rows) => {
      try {
        return this.preprocessor.transform(rows);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const good = matrices.filter((m): m is Matrix => !(m instanceof Error));
    const outputs = good.length ? await this.infer(good) : [];
    let next = 0;
    return matrices.map((m) => (m instanceof Error ? m : this.decode(outputs[next++]!)));
  }

  /** Outputs of the matrices' rows (probabilities or the standardized value), per matrix. */
  async infer(matrices: Matrix[]): Promise<Float32Array[]> {
    const cols = this.layers[0]!.kernel.shape[0];
    const width = this.layers.at(-1)!.kernel.shape[1];
    const total = matrices.reduce((n, m) => n + m.rows, 0);
    const x = new Float32Array(total * cols);
    let at = 0;
    for (const m of matrices) {
      x.set(m.data.subarray(0, m.rows * cols), at);
      at += m.rows * cols;
    }
    const out = new Float32Array(total * width);
    this.busy++;
    cacheStats.passes++;
    try {
      for (let start = 0; start < total; start += MAX_PASS_ROWS) {
        const end = Math.min(total, start + MAX_PASS_ROWS);
        const y = tf.tidy(() => {
          let h: tf.Tensor2D = tf.tensor2d(x.subarray(start * cols, end * cols), [
            end - start,
            cols,
          ]);
          this.layers.forEach((layer, i) => {
            h = tf.add(tf.matMul(h, layer.kernel), layer.bias);
            if (i < this.layers.length - 1) h = tf.relu(h);
          });
          return this.layers.at(-1)!.softmax ? tf.softmax(h) : h;
        });
        try {
          out.set(await y.data(), start * width);
        } finally {
          y.dispose();
        }
      }
    } finally {
      this.busy--;
      if (this.evicted && this.busy === 0) this.dispose();
    }
    const parts: Float32Array[] = [];
    at = 0;
    for (const m of matrices) {
      parts.push(out.subarray(at * width, (at + m.rows) * width));
      at += m.rows;
    }
    return parts;
  }

  decode(output: Float32Array): Prediction[] {
    const { classes, mean, std } = this.target;
    if (!classes)
      return Array.from(output, (z) => ({ value: z * std! + mean!, probabilities: null }));
    const k = classes.length;
    const out: Prediction[] = [];
    for (let i = 0; i < output.length / k; i++) {
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

  evict(): void {
    this.evicted = true;
    if (this.busy === 0) this.dispose();
  }

  private dispose(): void {
    tf.dispose(this.layers.flatMap((l) => [l.kernel, l.bias]));
  }
}

/** Ready models, least recently used first (a Map keeps insertion order). */
const ready = new Map<string, ReadyModel>();
/**
 * Versions made ready and forward passes run in this process: what tests watch to see that the
 * cache and the batching work.
 */
export const cacheStats = { loads: 0, passes: 0 };

function readyModel(version: ModelVersion): ReadyModel {
  let model = ready.get(version.id);
  if (model) {
    ready.delete(version.id);
  } else {
    model = new ReadyModel(version);
    cacheStats.loads++;
    while (ready.size >= READY_MODELS) {
      const [oldest, entry] = ready.entries().next().value!;
      ready.delete(oldest);
      entry.evict();
    }
  }
  ready.set(version.id, model);
  return model;
}

/** The version row of a ready model, if this process holds it (rows of a version never change). */
export function readyVersion(versionId: string): ModelVersion | undefined {
  return ready.get(versionId)?.version;
}

/**
 * Predicts `rows` with a version, from memory after its first call: single-row and other small
 * calls arriving together share one forward pass; each call's rows are preprocessed on their own,
 * so a missing or wrongly typed feature fails only that call.
 */
export async function predictRows(
  preference: BackendPreference,
  version: ModelVersion,
  rows: Array<Record<string, unknown>>,
): Promise<Prediction[]> {
  await initBackend(preference);
  const model = readyModel(version);
  if (rows.length <= BATCHED_ROWS) return model.batcher.submit(rows);
  const x = model.preprocessor.transform(rows);
  const [output] = await model.infer([x]);
  return model.decode(output!);
}

/** Alias targets by `modelId alias`, per bus (each server process has its own). */
const aliasCaches = new WeakMap<EventBus, Map<string, Promise<string | null>>>();

function aliasKey(change: ModelAliasChange): string {
  return `${change.modelId} ${change.alias}`;
}

function aliasCacheOf(events: EventBus): Map<string, Promise<string | null>> {
  let cache = aliasCaches.get(events);
  if (!cache) {
    const entries = new Map<string, Promise<string | null>>();
    cache = entries;
    aliasCaches.set(events, entries);
    // Changes made by any process (this one included) arrive here.
    void (async () => {
      for await (const change of events.subscribe('modelAliases')) entries.delete(aliasKey(change));
    })();
  }
  return cache;
}

/**
 * The version id `alias` of a model names, remembered until the alias changes. `load` reads it
 * from the database (null: no such alias); the caller has already checked the model is visible.
 */
export function aliasTarget(
  events: EventBus,
  change: ModelAliasChange,
  load: () => Promise<string | null>,
): Promise<string | null> {
  const cache = aliasCacheOf(events);
  const key = aliasKey(change);
  let target = cache.get(key);
  if (!target) {
    target = load();
    cache.set(key, target);
    target.catch(() => {
      if (cache.get(key) === target) cache.delete(key);
    });
  }
  return target;
}

/**
 * Tells every process an alias changed — call after the change committed. This process forgets
 * it at once; others when the bus brings the event.
 */
export function aliasChanged(events: EventBus, change: ModelAliasChange): void {
  aliasCaches.get(events)?.delete(aliasKey(change));
  events.publish('modelAliases', { modelId: change.modelId, alias: change.alias });
}
