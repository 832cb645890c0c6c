import { beforeAll, describe, expect, it } from 'vitest';
import { classificationMetrics, regressionMetrics } from '../../src/models/metrics';
import { predict, splitRows, train } from '../../src/models/train';
import type { EpochEvent, ModelArtifact, TrainingData, TrainOutput } from '../../src/models/types';
import { cars, penguins } from './vega';

const SEED = 42;

/** The held-out test rows of a run, found the way train() finds them. */
function heldOut(data: TrainingData, selecting: boolean) {
  const usable = data.rows.filter((r) => r[data.target.name] != null);
  return Array.from(splitRows(usable.length, SEED, 0.2, selecting).test, (i) => usable[i]!);
}

/** A copy of the artifact as it comes back from a JSON column. */
const roundTrip = (a: ModelArtifact): ModelArtifact => JSON.parse(JSON.stringify(a));

describe('AUTO on penguins (classification)', () => {
  const data = penguins();
  let out: TrainOutput;
  const events: EpochEvent[] = [];
  beforeAll(async () => {
    out = await train(
      data,
      { task: 'CLASSIFICATION', algorithm: 'AUTO', seed: SEED },
      { onEpoch: (e) => void events.push(e) },
    );
  }, 60_000);

  it('reaches held-out accuracy ≥ 0.95 on wasm', () => {
    console.log('penguins', out.algorithm, JSON.stringify(out.metrics), out.candidates);
    expect(out.backend).toBe('wasm');
    expect(out.device).toBe('CPU');
    expect(out.cancelled).toBe(false);
    expect(out.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(out.metrics.confusionMatrix!.labels).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    // 344 rows, 69 held out
    expect(out.metrics.confusionMatrix!.matrix.flat().reduce((a, b) => a + b)).toBe(69);
  });

  it('compares logistic regression with an MLP on validation and refits the winner', () => {
    expect(out.candidates.map((c) => c.name)).toEqual(['LOGISTIC_REGRESSION#1', 'MLP#1']);
    const best = Math.max(...out.candidates.map((c) => c.validation.accuracy!));
    const winner = out.candidates.find((c) => c.validation.accuracy === best)!;
    expect(out.algorithm).toBe(winner.algorithm);
    expect(out.hyperparameters).toEqual(winner.hyperparameters);
    const names = [...new Set(events.map((e) => e.candidate))];
    expect(names).toEqual(['LOGISTIC_REGRESSION#1', 'MLP#1', `${winner.name}:refit`]);
    const refitEpochs = winner.hyperparameters.epochs!;
    expect(out.epochsDone).toBe(50 + 100 + refitEpochs);
    expect(events).toHaveLength(out.epochsDone);
  });

  it('reports per-epoch progress', () => {
    const lr = events.filter((e) => e.candidate === 'LOGISTIC_REGRESSION#1');
    expect(lr.map((e) => e.epoch)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const e of lr) {
      expect(e.totalEpochs).toBe(50);
      expect(e.samplesPerSecond).toBeGreaterThan(0);
      expect(e.valLoss).toBeTypeOf('number');
      expect(e.metrics.valAccuracy).toBeTypeOf('number');
    }
    expect(lr.at(-1)!.etaSeconds).toBe(0);
    expect(lr[0]!.loss).toBeGreaterThan(lr.at(-1)!.loss);
    // the refit has no validation part
    expect(events.at(-1)!.valLoss).toBeNull();
  });

  it('predict() from the serialized artifact reproduces the held-out predictions exactly', async () => {
    const rows = heldOut(data, true);
    const predictions = await predict(roundTrip(out.artifact), rows);
    const labels = out.artifact.target.classes!;
    for (const p of predictions) {
      expect(Object.keys(p.probabilities!)).toEqual(labels);
      expect(Object.values(p.probabilities!).reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    }
    const again = classificationMetrics(
      rows.map((r) => String(r.Species)),
      predictions.map((p) => p.value as string),
      predictions.map((p) => labels.map((l) => p.probabilities![l]!)),
      labels,
    );
    expect(again).toEqual(out.metrics);
  });
});

describe('AUTO on cars (regression)', () => {
  const data = cars();
  let out: TrainOutput;
  beforeAll(async () => {
    out = await train(data, { task: 'REGRESSION', algorithm: 'AUTO', seed: SEED });
  }, 60_000);

  it('reaches held-out R² ≥ 0.75', () => {
    console.log('cars', out.algorithm, JSON.stringify(out.metrics), out.candidates);
    expect(out.candidates.map((c) => c.name)).toEqual(['LINEAR_REGRESSION#1', 'MLP#1']);
    expect(out.metrics.r2).toBeGreaterThanOrEqual(0.75);
    expect(out.metrics.rmse).toBeGreaterThan(0);
    expect(out.metrics.mae).toBeLessThanOrEqual(out.metrics.rmse!);
  });

  it('predict() from the serialized artifact reproduces the held-out predictions exactly', async () => {
    const rows = heldOut(data, true);
    // 406 cars, 8 without Miles_per_Gallon → 398 usable, 80 held out
    expect(rows).toHaveLength(80);
    const predictions = await predict(roundTrip(out.artifact), rows);
    expect(predictions.every((p) => typeof p.value === 'number' && p.probabilities === null)).toBe(
      true,
    );
    const again = regressionMetrics(
      rows.map((r) => r.Miles_per_Gallon as number),
      predictions.map((p) => p.value as number),
    );
    expect(again).toEqual(out.metrics);
  });
});

describe('determinism', () => {
  it('gives identical metrics and weights for the same seed, different ones for another', async () => {
    const config = {
      task: 'CLASSIFICATION' as const,
      algorithm: 'MLP' as const,
      hyperparameters: { epochs: 8 },
      seed: 7,
    };
    const a = await train(penguins(), config);
    const b = await train(penguins(), config);
    const c = await train(penguins(), { ...config, seed: 8 });
    expect(b.metrics).toEqual(a.metrics);
    expect(b.artifact).toEqual(a.artifact);
    expect(c.artifact.layers).not.toEqual(a.artifact.layers);
  }, 60_000);
});
