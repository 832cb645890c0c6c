/**
 * Trains the same MLP on every TensorFlow.js backend this process can load (webgpu,
 * tfjs-node-gpu, tfjs-node, wasm, cpu) and prints training throughput side by side, with the
 * ratio wasm / cpu, and each backend's largest per-epoch loss difference from cpu (the backends
 * must agree: on a software Vulkan adapter webgpu is here for correctness, not speed).
 * Data: a synthetic 20k × 16 classification set from a seeded generator; 3 epochs per backend,
 * the first (warm-up) excluded from samples/s.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendPreference, initBackend } from '../src/models/backend';
import { createRng } from '../src/models/random';
import { train } from '../src/models/train';
import type { TrainConfig, TrainingData } from '../src/models/types';

const ROWS = 20_000;
const FEATURES = 16;
const EPOCHS = 3;

/** Gaussian features; the class is a nonlinear function of a few of them plus noise. */
function syntheticData(): TrainingData {
  const rng = createRng(20_000, 'bench-train');
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const names = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
  const rows = Array.from({ length: ROWS }, () => {
    const row: Record<string, unknown> = {};
    const x = names.map((n) => {
      const v = gauss();
      row[n] = v;
      return v;
    });
    const score = x[0]! * x[1]! + Math.sin(x[2]!) + 0.5 * x[3]! ** 2 - x[4]! + 0.3 * gauss();
    row.label = score < -0.5 ? 'low' : score < 1 ? 'mid' : 'high';
    return row;
  });
  return {
    features: names.map((name) => ({ name, type: 'FLOAT' as const })),
    target: { name: 'label', type: 'CATEGORY' },
    rows,
  };
}

interface Result {
  backend: string;
  device: string;
  adapter: string | null;
  losses: number[];
  samplesPerSecond: number;
  seconds: number;
  accuracy: number;
}

export async function benchTrainBackends(): Promise<void> {
  const data = syntheticData();
  const config: TrainConfig = {
    task: 'CLASSIFICATION',
    algorithm: 'MLP',
    hyperparameters: { epochs: EPOCHS, hiddenUnits: [64, 32], batchSize: 64, dropout: 0.1 },
    validationSplit: 0.2,
    seed: 1,
  };
  const results: Result[] = [];
  const seen = new Set<string>();
  const preferences: BackendPreference[] = [
    'webgpu',
    'tensorflow-gpu',
    'tensorflow',
    'wasm',
    'cpu',
  ];
  for (const preference of preferences) {
    let info: { backend: string; device: string };
    try {
      info = await initBackend(preference);
    } catch (error) {
      const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      console.log(`  ${preference.padEnd(15)} not available: ${why}`);
      continue;
    }
    const key = `${info.backend}/${info.device}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const rates: number[] = [];
    const losses: number[] = [];
    const started = performance.now();
    const out = await train(data, config, {
      onEpoch: (e) => {
        losses.push(e.loss);
        if (e.epoch > 1) rates.push(e.samplesPerSecond);
      },
    });
    const a = out.adapter;
    results.push({
      backend: out.backend,
      device: out.device,
      adapter: a ? `${a.vendor} ${a.architecture}: ${a.description || a.device}` : null,
      losses,
      samplesPerSecond: rates.reduce((a, b) => a + b, 0) / rates.length,
      seconds: (performance.now() - started) / 1000,
      accuracy: out.metrics.accuracy ?? Number.NaN,
    });
  }

  console.log(
    `train (MLP 16→64→32→3, ${ROWS.toLocaleString('en-US')} synthetic rows × ${FEATURES} features, ` +
      `${Math.round(ROWS * 0.8).toLocaleString('en-US')} training rows, batch 64, ${EPOCHS} epochs; tfjs ${tf.version.tfjs})`,
  );
  const reference = results.find((r) => r.backend === 'cpu')?.losses;
  for (const r of results) {
    const diff = reference
      ? Math.max(...r.losses.map((l, i) => Math.abs(l - reference[i]!)))
      : Number.NaN;
    console.log(
      `  ${`${r.backend} (${r.device})`.padEnd(20)} ${Math.round(r.samplesPerSecond).toLocaleString('en-US').padStart(8)} samples/s` +
        `   run ${r.seconds.toFixed(2)} s   held-out accuracy ${r.accuracy.toFixed(3)}` +
        `   max |epoch loss − cpu| ${diff.toExponential(1)}${r.adapter ? `   adapter ${r.adapter}` : ''}`,
    );
  }
  const rate = (name: string) => results.find((r) => r.backend === name)?.samplesPerSecond;
  const wasm = rate('wasm');
  const cpu = rate('cpu');
  if (wasm && cpu)
    console.log(`  ratio (wasm samples/s / cpu samples/s): ${(wasm / cpu).toFixed(2)}`);
  const webgpu = rate('webgpu');
  if (webgpu && wasm) {
    console.log(`  ratio (webgpu samples/s / wasm samples/s): ${(webgpu / wasm).toFixed(2)}`);
  }
  const native = rate('tensorflow');
  if (native && cpu) {
    console.log(`  ratio (tensorflow samples/s / cpu samples/s): ${(native / cpu).toFixed(2)}`);
  }
  await initBackend('auto');
}
