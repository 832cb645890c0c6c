import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors';
import { initBackend } from '../../src/models/backend';
import { predict, train } from '../../src/models/train';
import { type EpochEvent, FeatureError, type TrainConfig } from '../../src/models/types';
import { penguins } from './vega';

const data = penguins();
const mlp: TrainConfig = {
  task: 'CLASSIFICATION',
  algorithm: 'MLP',
  hyperparameters: { epochs: 50 },
  seed: 3,
};

beforeAll(async () => {
  await initBackend();
});

describe('cancellation', () => {
  // shouldStop() is asked after every epoch, once onEpoch has resolved: returning true after
  // the 2nd epoch ends the run with exactly 2 epochs done and no 3rd epoch started.
  it('stops right after the epoch in which shouldStop() turned true', async () => {
    const events: EpochEvent[] = [];
    const out = await train(data, mlp, {
      onEpoch: (e) => void events.push(e),
      shouldStop: () => events.length >= 2,
    });
    expect(out.cancelled).toBe(true);
    expect(out.epochsDone).toBe(2);
    expect(events.map((e) => [e.candidate, e.epoch])).toEqual([
      ['MLP#1', 1],
      ['MLP#1', 2],
    ]);
    expect(events[1]!.etaSeconds).toBeGreaterThan(0);
    // the partial model is returned and scored on the held-out rows
    expect(out.algorithm).toBe('MLP');
    expect(out.metrics.accuracy).toBeTypeOf('number');
    const predictions = await predict(out.artifact, data.rows.slice(0, 3));
    expect(predictions).toHaveLength(3);
  });

  it('between AUTO candidates returns the completed candidate and skips the refit', async () => {
    const events: EpochEvent[] = [];
    const out = await train(
      data,
      { task: 'CLASSIFICATION', algorithm: 'AUTO', hyperparameters: { epochs: 3 }, seed: 3 },
      { onEpoch: (e) => void events.push(e), shouldStop: () => events.length >= 4 },
    );
    expect(out.cancelled).toBe(true);
    expect(out.epochsDone).toBe(4);
    expect(events.map((e) => e.candidate)).toEqual([
      'LOGISTIC_REGRESSION#1',
      'LOGISTIC_REGRESSION#1',
      'LOGISTIC_REGRESSION#1',
      'MLP#1',
    ]);
    expect(out.candidates.map((c) => c.name)).toEqual(['LOGISTIC_REGRESSION#1', 'MLP#1']);
    expect(out.algorithm).toBe('LOGISTIC_REGRESSION');
  });

  it('returns the untrained model when stopped before the first epoch', async () => {
    let calls = 0;
    const out = await train(data, mlp, {
      onEpoch: () => {
        calls++;
      },
      shouldStop: () => true,
    });
    expect(out).toMatchObject({ cancelled: true, epochsDone: 0, candidates: [] });
    expect(calls).toBe(0);
    expect(out.artifact.layers).toHaveLength(3);
  });
});

describe('random search', () => {
  it('draws the hyperparameters not given for trials after the first', async () => {
    const events: EpochEvent[] = [];
    const out = await train(
      data,
      { ...mlp, hyperparameters: { epochs: 2, dropout: 0 }, trials: 3 },
      { onEpoch: (e) => void events.push(e) },
    );
    expect(out.candidates.map((c) => c.name)).toEqual(['MLP#1', 'MLP#2', 'MLP#3']);
    expect(out.candidates[0]!.hyperparameters).toEqual({
      epochs: 2,
      learningRate: 0.005,
      batchSize: 32,
      hiddenUnits: [64, 32],
      l2: 1e-4,
      dropout: 0,
    });
    for (const c of out.candidates) {
      expect(c.hyperparameters.epochs).toBe(2);
      expect(c.hyperparameters.dropout).toBe(0);
      expect(c.validation.accuracy).toBeTypeOf('number');
    }
    expect(new Set(out.candidates.map((c) => c.hyperparameters.learningRate)).size).toBe(3);
    expect(out.epochsDone).toBe(3 * 2 + 2);
    expect(events.at(-1)!.candidate).toMatch(/^MLP#\d:refit$/);
  });
});

describe('memory', () => {
  it('disposes every tensor it creates across epochs, candidates and predict', async () => {
    const config: TrainConfig = { ...mlp, algorithm: 'AUTO', hyperparameters: { epochs: 3 } };
    await train(data, config);
    const before = tf.memory().numTensors;
    const out = await train(data, config);
    await predict(out.artifact, data.rows);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('bad input', () => {
  const rejects = async (promise: Promise<unknown>, feature: string) => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FeatureError);
    expect((error as FeatureError).feature).toBe(feature);
  };

  it('throws FeatureError for unusable training data', async () => {
    const one = { ...data, rows: data.rows.map((r) => ({ ...r, Species: 'Adelie' })) };
    await rejects(train(one, mlp), 'Species');
    await rejects(train({ ...data, rows: [] }, mlp), 'Species');
    const nullTargets = { ...data, rows: data.rows.map((r) => ({ ...r, Species: null })) };
    await rejects(train(nullTargets, mlp), 'Species');
    const noIsland = { ...data, rows: data.rows.map(({ Island: _, ...r }) => r) };
    await rejects(train(noIsland, mlp), 'Island');
    const badMass = {
      ...data,
      rows: data.rows.map((r, i) => (i === 5 ? { ...r, 'Body Mass (g)': 'heavy' } : r)),
    };
    await rejects(train(badMass, mlp), 'Body Mass (g)');
    await rejects(
      train(data, { task: 'REGRESSION', algorithm: 'LINEAR_REGRESSION', seed: 1 }),
      'Species',
    );
  });

  it('throws InputError for a bad config', async () => {
    await expect(train(data, { ...mlp, hyperparameters: { epochs: -1 } })).rejects.toBeInstanceOf(
      InputError,
    );
    await expect(train(data, { ...mlp, algorithm: 'LINEAR_REGRESSION' })).rejects.toMatchObject({
      field: 'algorithm',
    });
  });

  it('drops rows with a null target and rejects a row missing a feature at predict time', async () => {
    const withNulls = {
      ...data,
      rows: data.rows.map((r, i) => (i % 10 === 0 ? { ...r, Species: null } : r)),
    };
    const out = await train(withNulls, { ...mlp, hyperparameters: { epochs: 1 } });
    const total = out.metrics.confusionMatrix!.matrix.flat().reduce((a, b) => a + b);
    expect(total).toBe(Math.round((344 - 35) * 0.2));
    await rejects(predict(out.artifact, [{ Island: 'Dream' }]), 'Beak Length (mm)');
  });
});
