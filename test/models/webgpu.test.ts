/**
 * WebGPU training through Dawn against the CPU backend. In CI this runs on Mesa's software Vulkan
 * (lavapipe, installed by .ci/run); it is skipped, with the reason logged, only where the host
 * has no Vulkan at all. A host with Vulkan where Dawn finds no adapter fails instead.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { trainingRuns } from '../../db/schema/models';
import { backendForRun, initBackend } from '../../src/models/backend';
import { GpuError, parityCheck, probeWebGpu, vulkanFiles } from '../../src/models/gpu';
import { predict, train } from '../../src/models/train';
import type { EpochEvent, TrainConfig, TrainingData } from '../../src/models/types';
import { vegaFile } from '../datasets/sources';
import { signUpOwner, startTestServer } from '../helpers/server';
import { penguins } from './vega';

const vulkan = vulkanFiles();
const noVulkan = !vulkan.loader || vulkan.icds.length === 0;
if (noVulkan) {
  console.warn(
    `webgpu tests skipped: no Vulkan on this host (loader ${vulkan.loader ?? 'missing'}, ` +
      `${vulkan.icds.length} ICD manifests); .ci/run installs Mesa's lavapipe`,
  );
}

const mlp: TrainConfig = {
  task: 'CLASSIFICATION',
  algorithm: 'MLP',
  hyperparameters: { epochs: 6, hiddenUnits: [16, 8], batchSize: 32, dropout: 0.1 },
  validationSplit: 0.2,
  seed: 7,
};

async function trainOn(
  backend: 'cpu' | 'webgpu',
  data: TrainingData,
  config: TrainConfig = mlp,
): Promise<{ out: Awaited<ReturnType<typeof train>>; epochs: EpochEvent[] }> {
  await initBackend(backend);
  const epochs: EpochEvent[] = [];
  const out = await train(data, config, { onEpoch: (e) => void epochs.push(e) });
  return { out, epochs };
}

/** Largest |a − b| / max(1, |a|). */
function maxRelative(a: number[], b: number[]): number {
  expect(b).toHaveLength(a.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(1, Math.abs(x))));
}

// tfjs has one active backend per process, so these run in order in their own file.
describe.skipIf(noVulkan)('WebGPU backend (Dawn on Vulkan)', () => {
  const env = process.env.PESO_WEBGPU_MIN_STEP_MACS;
  afterEach(() => {
    if (env === undefined) delete process.env.PESO_WEBGPU_MIN_STEP_MACS;
    else process.env.PESO_WEBGPU_MIN_STEP_MACS = env;
  });

  it('finds an adapter on this host and matches the CPU backend on one seeded step', async () => {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(`Vulkan is installed but ${probe.reason}`);
    expect(probe.adapter.vendor).not.toBe('');
    expect(probe.adapter.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const parity = await parityCheck('webgpu');
    expect(parity.ok).toBe(true);
    expect(parity.maxDifference).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(parity.loss.cpu - parity.loss.candidate)).toBeLessThanOrEqual(1e-5);
  });

  it('trains the same seeded MLP on webgpu as on cpu: losses and predictions within 1e-5', async () => {
    const data = penguins();
    const cpu = await trainOn('cpu', data);
    const gpu = await trainOn('webgpu', data);
    expect(cpu.out.backend).toBe('cpu');
    expect(gpu.out.backend).toBe('webgpu');
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(probe.reason);
    expect(gpu.out.adapter).toEqual({
      vendor: probe.adapter.vendor,
      architecture: probe.adapter.architecture,
      device: probe.adapter.device,
      description: probe.adapter.description,
    });
    expect(gpu.out.backendReason).toMatch(
      /^TF_BACKEND=webgpu; WebGPU adapter .* passed its parity check$/,
    );

    expect(gpu.epochs).toHaveLength(6);
    const losses = (r: { epochs: EpochEvent[] }) =>
      r.epochs.flatMap((e) => [e.loss, e.metrics.accuracy!]);
    expect(maxRelative(losses(cpu), losses(gpu))).toBeLessThanOrEqual(1e-5);
    // the loss went down: the GPU trained, it did not return a constant
    expect(gpu.epochs.at(-1)!.loss).toBeLessThan(gpu.epochs[0]!.loss);

    const rows = data.rows.slice(0, 50);
    const probabilities = async (artifact: typeof cpu.out.artifact) =>
      (await predict(artifact, rows)).flatMap((p) => Object.values(p.probabilities!));
    await initBackend('cpu');
    const onCpu = await probabilities(cpu.out.artifact);
    await initBackend('webgpu');
    const gpuModelOnGpu = await probabilities(gpu.out.artifact);
    await initBackend('cpu');
    const gpuModelOnCpu = await probabilities(gpu.out.artifact);
    expect(maxRelative(onCpu, gpuModelOnCpu)).toBeLessThanOrEqual(1e-5);
    expect(maxRelative(onCpu, gpuModelOnGpu)).toBeLessThanOrEqual(1e-5);
    const kernels = (o: typeof cpu.out) => o.artifact.layers.flatMap((l) => l.kernel.flat());
    expect(maxRelative(kernels(cpu.out), kernels(gpu.out))).toBeLessThanOrEqual(1e-5);
    expect(gpu.out.metrics.accuracy).toBe(cpu.out.metrics.accuracy);
  });

  it('fails the read with a GpuError when a tensor is over the buffer limit, instead of returning zeros', async () => {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(probe.reason);
    await initBackend('webgpu');
    const limit = probe.adapter.maxStorageBufferBindingSize;
    const cols = 1024;
    const rows = Math.floor(limit / 4 / cols) + 1; // one row over the limit
    const product = tf.tidy(() => tf.matMul(tf.ones([rows, cols]), tf.ones([cols, 1])));
    const read = product.data();
    await expect(read).rejects.toThrow(GpuError);
    await expect(read).rejects.toThrow(/storage buffer binding size/);
    product.dispose();
    // the error was reported once: the next computation on the same device is right
    const ok = tf.tidy(() => tf.matMul(tf.ones([4, 3]), tf.ones([3, 2])));
    expect(Array.from(await ok.data())).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
    ok.dispose();
  });

  it('refuses, before training, a run whose weights exceed the limit (TF_BACKEND=webgpu)', async () => {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(probe.reason);
    const units = 4096;
    const inputs = Math.floor(probe.adapter.maxStorageBufferBindingSize / 4 / units) + 1;
    const names = Array.from({ length: inputs }, (_, i) => `x${i}`);
    const rows = Array.from({ length: 6 }, (_, r) => {
      const row: Record<string, unknown> = { y: r % 2 ? 'a' : 'b' };
      for (const [i, n] of names.entries()) row[n] = (r * 31 + i) % 7;
      return row;
    });
    const data: TrainingData = {
      features: names.map((name) => ({ name, type: 'FLOAT' as const })),
      target: { name: 'y', type: 'CATEGORY' },
      rows,
    };
    await initBackend('webgpu');
    let epochs = 0;
    const run = train(
      data,
      { ...mlp, hyperparameters: { epochs: 1, hiddenUnits: [units], batchSize: 4 } },
      { onEpoch: () => void epochs++ },
    );
    await expect(run).rejects.toThrow(
      /does not fit the GPU: layer 1's weights \(\d+ × 4096\) takes [\d,]+ bytes, more than the GPU's largest storage buffer/,
    );
    expect(epochs).toBe(0);
  });

  it('auto keeps small models on wasm and a software adapter off the GPU, saying why', async () => {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(probe.reason);
    await initBackend('auto');
    const small = { rows: 16_000, inputs: 16, hidden: [64, 32], outputs: 3, batchSize: 64 };
    const first = await backendForRun([small]);
    expect(first).toMatchObject({ backend: 'wasm', adapter: null });
    expect(first.reason).toContain(
      'not WebGPU: 0.20 M multiply-adds a step, below the GPU threshold of 16.78 M',
    );

    const hashed = { ...small, rows: 1000, inputs: 65_536 };
    const big = await backendForRun([hashed]);
    if (probe.adapter.software) {
      expect(big.backend).toBe('wasm');
      expect(big.reason).toContain('the only adapter is a software one');
    } else {
      expect(big).toMatchObject({ backend: 'webgpu', device: 'GPU' });
    }
    process.env.PESO_WEBGPU_MIN_STEP_MACS = '0';
    const forced = await backendForRun([small]);
    expect(forced.backend).toBe(probe.adapter.software ? 'wasm' : 'webgpu');
  });
});

describe.skipIf(noVulkan)('a training run through a worker with TF_BACKEND=webgpu', () => {
  it('trains in the pool child on webgpu and records backend, adapter and reason', async () => {
    const probe = await probeWebGpu();
    if (!probe.ok) throw new Error(probe.reason);
    const server = await startTestServer({ PESO_WORKERS: '1', TF_BACKEND: 'webgpu' });
    try {
      const owner = await signUpOwner(server, 'gpu');
      const created = await server.gql(
        'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { ... on Dataset { id } } }',
        { input: { name: 'penguins' } },
        owner.token,
      );
      const datasetId = created.data!.createDataset.id as string;
      const up = await server.upload(
        'mutation($datasetId: ID!, $file: File!) { uploadDatasetVersion(datasetId: $datasetId, file: $file) { __typename } }',
        { datasetId },
        { name: 'penguins.json', content: vegaFile('penguins.json') },
        owner.token,
      );
      expect(up.data?.uploadDatasetVersion.__typename, JSON.stringify(up)).toBe('DatasetVersion');
      const res = await server.gql(
        `mutation($input: TrainModelInput!) { trainModel(input: $input) {
          __typename ... on TrainingRun { id } ... on Error { code message } } }`,
        {
          input: {
            name: 'species',
            datasetId,
            target: 'Species',
            algorithm: 'MLP',
            hyperparameters: { epochs: 3, hiddenUnits: [8] },
            seed: 5,
          },
        },
        owner.token,
      );
      expect(res.data?.trainModel.__typename, JSON.stringify(res)).toBe('TrainingRun');
      const id = res.data!.trainModel.id as string;
      let run: Record<string, any> | undefined;
      for (let i = 0; i < 600; i++) {
        const q = await server.gql(
          `query($id: ID!) { trainingRun(id: $id) { status error backend device backendReason
            adapter { vendor architecture device description } metrics { accuracy } } }`,
          { id },
          owner.token,
        );
        run = q.data?.trainingRun;
        if (run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(run, JSON.stringify(run)).toMatchObject({
        status: 'SUCCEEDED',
        backend: 'webgpu',
        device: probe.adapter.software ? 'CPU' : 'GPU',
      });
      expect(run!.metrics.accuracy).toBeGreaterThan(0.5);
      const adapter = {
        vendor: probe.adapter.vendor,
        architecture: probe.adapter.architecture,
        device: probe.adapter.device,
        description: probe.adapter.description,
      };
      expect(run!.adapter).toEqual(adapter);
      expect(run!.backendReason).toMatch(
        /^TF_BACKEND=webgpu; WebGPU adapter .+ passed its parity check$/,
      );
      // the only run of this fresh database
      const rows = await server.database.db.select().from(trainingRuns);
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(row).toMatchObject({ status: 'SUCCEEDED', backend: 'webgpu' });
      expect(row!.adapter).toEqual(adapter);
      expect(row!.backendReason).toMatch(
        /^TF_BACKEND=webgpu; WebGPU adapter .+ passed its parity check$/,
      );
    } finally {
      await server.close();
    }
  }, 180_000);
});
