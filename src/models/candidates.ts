/**
 * Which models a training run fits, decided from its config alone (no TensorFlow.js): the
 * candidates (one per algorithm and trial) with their hyperparameters, and how many epochs the
 * whole run takes — known when the run is queued, so its progress has a total from the start.
 */
import { createRng, type Rng } from './random';
import type { Algorithm, ConcreteAlgorithm, Hyperparameters, Task } from './types';

export type Resolved = Required<Hyperparameters>;

const DEFAULTS: Record<ConcreteAlgorithm, Resolved> = {
  LOGISTIC_REGRESSION: {
    epochs: 50,
    learningRate: 0.01,
    batchSize: 32,
    l2: 1e-4,
    hiddenUnits: [],
    dropout: 0,
  },
  LINEAR_REGRESSION: {
    epochs: 50,
    learningRate: 0.01,
    batchSize: 32,
    l2: 1e-4,
    hiddenUnits: [],
    dropout: 0,
  },
  MLP: {
    epochs: 100,
    learningRate: 0.005,
    batchSize: 32,
    l2: 1e-4,
    hiddenUnits: [64, 32],
    dropout: 0.1,
  },
};

const pick = <T>(rng: Rng, options: T[]): T => options[rng.int(options.length)]!;
const logUniform = (rng: Rng, lo: number, hi: number) =>
  Number(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))).toPrecision(3));

/**
 * Trial 1 takes the given hyperparameters over the defaults; later trials draw the ones not
 * given at random (epochs are never drawn). Linear models report no hiddenUnits/dropout.
 */
function resolveHyperparameters(
  algorithm: ConcreteAlgorithm,
  given: Hyperparameters,
  rng: Rng | null,
): Resolved {
  const base = { ...DEFAULTS[algorithm] };
  if (rng) {
    base.learningRate = logUniform(rng, 1e-3, 3e-2);
    base.l2 = logUniform(rng, 1e-6, 1e-2);
    base.batchSize = pick(rng, [16, 32, 64]);
    if (algorithm === 'MLP') {
      base.hiddenUnits = pick(rng, [[32], [64], [32, 16], [64, 32], [128, 64]]);
      base.dropout = pick(rng, [0, 0.1, 0.2, 0.3]);
    }
  }
  const out = { ...base, ...given } as Resolved;
  if (algorithm !== 'MLP') {
    out.hiddenUnits = [];
    out.dropout = 0;
  }
  return out;
}

export interface Candidate {
  name: string;
  algorithm: ConcreteAlgorithm;
  hp: Resolved;
}

/** The candidates a config fits, in order: each algorithm (two for AUTO), each trial. */
export function planCandidates(cfg: {
  task: Task;
  algorithm: Algorithm;
  hyperparameters?: Hyperparameters;
  trials?: number;
  seed: number;
}): Candidate[] {
  const algorithms: ConcreteAlgorithm[] =
    cfg.algorithm === 'AUTO'
      ? [cfg.task === 'CLASSIFICATION' ? 'LOGISTIC_REGRESSION' : 'LINEAR_REGRESSION', 'MLP']
      : [cfg.algorithm];
  const trials = cfg.trials ?? 1;
  return algorithms.flatMap((algorithm) =>
    Array.from({ length: trials }, (_, t) => ({
      name: `${algorithm}#${t + 1}`,
      algorithm,
      hp: resolveHyperparameters(
        algorithm,
        cfg.hyperparameters ?? {},
        t === 0 ? null : createRng(cfg.seed, 'search', algorithm, t),
      ),
    })),
  );
}

/**
 * Epochs a run takes: every candidate's, plus the refit of the winner when there are several.
 * Until the winner is known the refit counts as the longest candidate, an upper bound.
 */
export function plannedSteps(candidates: Candidate[]): number {
  const epochs = candidates.map((c) => c.hp.epochs);
  const total = epochs.reduce((sum, e) => sum + e, 0);
  return candidates.length > 1 ? total + Math.max(...epochs) : total;
}
