import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/models/backend';
import { predict, train } from '../../src/models/train';
import { penguins } from './vega';

// tfjs has one active backend per process, so these run in order in their own file.
describe('initBackend', () => {
  it("picks wasm for 'auto' here (no tfjs-node), on the CPU, and is idempotent", async () => {
    const first = await initBackend('auto');
    expect(first).toMatchObject({ backend: 'wasm', device: 'CPU', adapter: null });
    // the native bindings were tried first and the run says why they were not taken
    expect(first.reason).toMatch(
      /^auto: wasm \(tfjs-node-gpu: .*@tensorflow\/tfjs-node-gpu.*; tfjs-node: .*@tensorflow\/tfjs-node.*\)$/,
    );
    expect(tf.getBackend()).toBe('wasm');
    expect(await initBackend()).toBe(first);
  });

  it('fails loudly when an absent native backend is asked for by name', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow();
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow();
    expect(tf.getBackend()).toBe('wasm');
  });

  it("trains on 'cpu' and switches back to wasm", async () => {
    expect(await initBackend('cpu')).toEqual({
      backend: 'cpu',
      device: 'CPU',
      adapter: null,
      reason: 'TF_BACKEND=cpu',
    });
    const data = penguins();
    const config = {
      task: 'CLASSIFICATION' as const,
      algorithm: 'LOGISTIC_REGRESSION' as const,
      hyperparameters: { epochs: 10 },
      seed: 1,
    };
    const onCpu = await train(data, config);
    expect(onCpu.backend).toBe('cpu');
    expect(onCpu.backendReason).toBe('TF_BACKEND=cpu');
    expect(onCpu.adapter).toBeNull();
    expect(onCpu.metrics.accuracy).toBeGreaterThan(0.9);

    expect(await initBackend('wasm')).toMatchObject({ backend: 'wasm', device: 'CPU' });
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = await train(data, config);
    expect(onWasm.backend).toBe('wasm');
    // different kernels, so not bit-identical, but the same model up to float rounding
    const a = await predict(onCpu.artifact, data.rows.slice(0, 20));
    const b = await predict(onWasm.artifact, data.rows.slice(0, 20));
    expect(b.map((p) => p.value)).toEqual(a.map((p) => p.value));
    expect(await initBackend('auto')).toMatchObject({ backend: 'wasm', device: 'CPU' });
    // under auto a small model stays on wasm whatever GPU there is, and the run says so
    const onAuto = await train(data, config);
    expect(onAuto.backend).toBe('wasm');
    expect(onAuto.backendReason).toMatch(
      /; not WebGPU: 0\.00 M multiply-adds a step, below the GPU threshold of 16\.78 M$/,
    );
  });
});
