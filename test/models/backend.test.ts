import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/models/backend';
import { predict, train } from '../../src/models/train';
import { penguins } from './vega';

// tfjs has one active backend per process, so these run in order in their own file.
describe('initBackend', () => {
  it("picks wasm for 'auto' here (no tfjs-node), on the CPU, and is idempotent", async () => {
    const first = await initBackend('auto');
    expect(first).toEqual({ backend: 'wasm', device: 'CPU' });
    expect(tf.getBackend()).toBe('wasm');
    expect(await initBackend()).toBe(first);
  });

  it('fails loudly when an absent native backend is asked for by name', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow();
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow();
    expect(tf.getBackend()).toBe('wasm');
  });

  it("trains on 'cpu' and switches back to wasm", async () => {
    expect(await initBackend('cpu')).toEqual({ backend: 'cpu', device: 'CPU' });
    const data = penguins();
    const config = {
      task: 'CLASSIFICATION' as const,
      algorithm: 'LOGISTIC_REGRESSION' as const,
      hyperparameters: { epochs: 10 },
      seed: 1,
    };
    const onCpu = await train(data, config);
    expect(onCpu.backend).toBe('cpu');
    expect(onCpu.metrics.accuracy).toBeGreaterThan(0.9);

    expect(await initBackend('wasm')).toEqual({ backend: 'wasm', device: 'CPU' });
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = await train(data, config);
    expect(onWasm.backend).toBe('wasm');
    // different kernels, so not bit-identical, but the same model up to float rounding
    const a = await predict(onCpu.artifact, data.rows.slice(0, 20));
    const b = await predict(onWasm.artifact, data.rows.slice(0, 20));
    expect(b.map((p) => p.value)).toEqual(a.map((p) => p.value));
    expect(await initBackend('auto')).toEqual({ backend: 'wasm', device: 'CPU' });
  });
});
