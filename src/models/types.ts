import type { ColumnType } from '../../db/schema/datasets';
import { InputError } from '../errors';

export type Task = 'CLASSIFICATION' | 'REGRESSION';
export type Algorithm = 'LOGISTIC_REGRESSION' | 'LINEAR_REGRESSION' | 'MLP' | 'AUTO';
export type ConcreteAlgorithm = Exclude<Algorithm, 'AUTO'>;
export interface FeatureSpec {
  name: string;
  type: ColumnType;
  /** A STRING feature read as free text: hashed words and n-grams instead of one-hot categories. */
  text?: boolean;
}

/** Rows as plain JSON: numbers, strings, booleans, null; DATE 'YYYY-MM-DD', TIMESTAMP ISO text. */
export interface TrainingData {
  features: FeatureSpec[];
  target: FeatureSpec;
  rows: Array<Record<string, unknown>>;
}

export interface Hyperparameters {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  hiddenUnits?: number[];
  l2?: number;
  dropout?: number;
}

export interface TrainConfig {
  task: Task;
  algorithm: Algorithm;
  hyperparameters?: Hyperparameters;
  /** Random-search trials per algorithm; trial 1 uses the given (or default) hyperparameters. Default 1. */
  trials?: number;
  /** Held-out test fraction that the final `metrics` are computed on. Default 0.2. */
  validationSplit?: number;
  seed: number;
}

export interface EpochEvent {
  candidate: string;
  /** Epoch of `candidate` (from 1); restarts with each candidate. */
  epoch: number;
  /** Epochs of `candidate`. */
  totalEpochs: number;
  /** Epochs done over the whole run (every candidate, trial and the refit): never decreases. */
  step: number;
  /** Epochs the whole run takes; exact once the refit's winner is known, never below `step`. */
  totalSteps: number;
  loss: number;
  valLoss: number | null;
  metrics: Record<string, number>;
  samplesPerSecond: number;
  etaSeconds: number | null;
}

export interface Metrics {
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  rocAuc?: number;
  logLoss?: number;
  confusionMatrix?: { labels: string[]; matrix: number[][] };
  rmse?: number;
  mae?: number;
  r2?: number;
}

/** How one feature column becomes model inputs; fitted on training rows only. */
export type ColumnTransform =
  | {
      kind: 'numeric';
      name: string;
      type: ColumnType;
      /** Training mean: the imputed value for nulls and the centre of standardization. */
      mean: number;
      /** Training (population) standard deviation; 1 when the column is constant. */
      std: number;
    }
  | {
      kind: 'one-hot';
      name: string;
      type: ColumnType;
      /** At most the 50 most frequent training values; others map to an all-zero vector. */
      categories: string[];
    }
  | {
      kind: 'hashed-text';
      name: string;
      type: ColumnType;
      /** Width of the hashed vector (see `hashText`). */
      buckets: number;
    };

/** A fitted preprocessing pipeline, serializable as JSON. */
export interface PreprocessingState {
  columns: ColumnTransform[];
  /** The name of every model input, in order (`col`, `col=value`, `col=<missing>`, `col#slot`). */
  outputNames: string[];
}

export interface DenseLayer {
  /** Input width × units, row-major: `kernel[i][j]` connects input i to unit j. */
  kernel: number[][];
  bias: number[];
  activation: 'relu' | 'linear' | 'softmax';
  /** Dropout rate applied to this layer's output while training (not at inference). */
  dropout: number;
}

export interface ModelArtifact {
  formatVersion: 1;
  task: Task;
  algorithm: ConcreteAlgorithm;
  preprocessing: PreprocessingState;
  target: {
    name: string;
    type: ColumnType;
    /** Class labels in output order (classification), else null. */
    classes: string[] | null;
    /** Regression targets are standardized for training; predictions are mapped back with these. */
    mean: number | null;
    std: number | null;
  };
  layers: DenseLayer[];
}

export interface TrainOutput {
  artifact: ModelArtifact;
  metrics: Metrics;
  algorithm: ConcreteAlgorithm;
  hyperparameters: Hyperparameters;
  candidates: Array<{
    name: string;
    algorithm: string;
    hyperparameters: Hyperparameters;
    validation: Metrics;
  }>;
  backend: string;
  device: string;
  /** The WebGPU adapter the run trained on (backend webgpu), else null. */
  adapter: AdapterSummary | null;
  /** Why the backend was chosen (and, under TF_BACKEND=auto, why the others were not). */
  backendReason: string;
  epochsDone: number;
  cancelled: boolean;
}

/** A WebGPU adapter as Dawn describes it. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/**
 * A feature (or the target) cannot be used as given: a missing column, a value of the wrong
 * type, or training data the model cannot learn from (no rows, a single class). It is an
 * {@link InputError} whose `field` is the feature name, so the API reports it as bad input.
 */
export class FeatureError extends InputError {
  constructor(
    readonly feature: string,
    message: string,
  ) {
    super(message, feature);
    this.name = 'FeatureError';
  }
}
