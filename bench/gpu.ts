/**
 * GPU-host check, self-contained (reaches nothing outside the machine), within about 7 minutes:
 *
 *   npx tsx bench/gpu.ts
 *
 * Prints the GPU and driver, the Vulkan loader and ICDs found, what Dawn sees (adapter, limits,
 * features), the seeded CPU-vs-WebGPU parity (one step, and a short training run through
 * Peso's trainer), then milliseconds per training step on webgpu and on wasm across model shapes
 * from the tabular benchmark's MLP up to 65,536 hashed inputs, each marked valid (webgpu's loss
 * after the timed steps matches wasm's) or invalid, and the step size from which webgpu wins:
 * the value for PESO_WEBGPU_MIN_STEP_MACS.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import {
  exceedsLimits,
  type ModelShape,
  parityCheck,
  probeWebGpu,
  stepMacs,
  vulkanFiles,
  WEBGPU_MIN_STEP_MACS,
  webgpuMinStepMacs,
} from '../src/models/gpu';
import { train } from '../src/models/train';
import type { TrainConfig, TrainingData } from '../src/models/types';

const BUDGET_MS = 6.5 * 60_000;
/** Timed steps stop after this long per shape and backend (at least 2 steps are timed). */
const SHAPE_MS = 6_000;
const MAX_STEPS = 40;
const started = performance.now();
const elapsed = () => performance.now() - started;

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: 'pipe' }).trim();
  } catch {
    return null;
  }
}

function section(title: string) {
  console.log(`\n== ${title}`);
}

// ---------------------------------------------------------------------------------------------
section('host');
console.log(
  `node ${process.version}, ${process.platform}-${process.arch}, tfjs ${tf.version.tfjs}`,
);
const smi = run('nvidia-smi', [
  '--query-gpu=name,driver_version,memory.total,compute_cap',
  '--format=csv,noheader',
]);
console.log(`nvidia-smi: ${smi ?? 'not found (no NVIDIA driver, or not in this container)'}`);
const nvVersion = run('cat', ['/proc/driver/nvidia/version']);
if (nvVersion) console.log(`kernel driver: ${nvVersion.split('\n')[0]}`);
const vk = vulkanFiles();
console.log(
  `Vulkan loader: ${vk.loader ?? 'libvulkan.so.1 NOT FOUND (apt-get install libvulkan1)'}`,
);
if (!vk.icds.length) console.log('Vulkan ICDs: none (the GPU driver must install its Vulkan ICD)');
for (const icd of vk.icds) {
  let detail = '';
  try {
    const json = JSON.parse(readFileSync(icd, 'utf8')) as {
      ICD?: { library_path?: string; api_version?: string };
    };
    detail = ` → ${json.ICD?.library_path ?? '?'} (Vulkan ${json.ICD?.api_version ?? '?'})`;
  } catch {
    detail = ' (unreadable)';
  }
  console.log(`Vulkan ICD: ${icd}${detail}`);
}
const vulkaninfo = run('vulkaninfo', ['--summary']);
if (vulkaninfo) {
  const devices = vulkaninfo.split('\n').filter((l) => /deviceName|driverInfo|apiVersion/.test(l));
  for (const l of devices) console.log(`vulkaninfo: ${l.trim()}`);
}

// ---------------------------------------------------------------------------------------------
section('what Dawn sees');
const dawn = await import('webgpu');
const gpu = dawn.create([]);
for (const [label, options] of [
  ['high-performance', { powerPreference: 'high-performance' }],
  ['fallback (software)', { forceFallbackAdapter: true }],
] as const) {
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) {
    console.log(`${label}: no adapter`);
    continue;
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  console.log(
    `${label}: vendor=${info.vendor} architecture=${info.architecture} device=${info.device} ` +
      `description="${info.description}" fallback=${info.isFallbackAdapter ?? '?'}`,
  );
  if (label === 'high-performance') {
    const l = adapter.limits;
    console.log(
      `  limits: maxStorageBufferBindingSize=${l.maxStorageBufferBindingSize} maxBufferSize=${l.maxBufferSize} ` +
        `maxComputeWorkgroupStorageSize=${l.maxComputeWorkgroupStorageSize} ` +
        `maxComputeInvocationsPerWorkgroup=${l.maxComputeInvocationsPerWorkgroup} ` +
        `maxComputeWorkgroupsPerDimension=${l.maxComputeWorkgroupsPerDimension}`,
    );
    console.log(`  features: ${[...adapter.features].sort().join(', ')}`);
  }
}
const probe = await probeWebGpu();
if (!probe.ok) {
  console.log(`\nWebGPU unusable: ${probe.reason}`);
  process.exit(1);
}
console.log(
  `Peso uses: ${probe.adapter.vendor} ${probe.adapter.architecture} (${probe.adapter.description}); ` +
    `software=${probe.adapter.software}`,
);

// ---------------------------------------------------------------------------------------------
section('parity with the CPU backend (seeded)');
const step = await parityCheck('webgpu');
console.log(
  `one Adam step, 64×16→32→3: loss cpu ${step.loss.cpu.toFixed(7)} webgpu ${step.loss.candidate.toFixed(7)}, ` +
    `max relative difference over loss and weights ${step.maxDifference.toExponential(2)} → ${step.ok ? 'VALID' : 'INVALID'}`,
);

function syntheticData(rows: number, features: number): TrainingData {
  let s = 99;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const names = Array.from({ length: features }, (_, i) => `f${i}`);
  return {
    features: names.map((name) => ({ name, type: 'FLOAT' as const })),
    target: { name: 'label', type: 'CATEGORY' },
    rows: Array.from({ length: rows }, () => {
      const row: Record<string, unknown> = {};
      const x = names.map((n) => (row[n] = next() * 4));
      const score = x[0]! * x[1]! + Math.sin(x[2]!) - x[3]! + next();
      row.label = score < -0.5 ? 'low' : score < 1 ? 'mid' : 'high';
      return row;
    }),
  };
}
const data = syntheticData(4000, 16);
const config: TrainConfig = {
  task: 'CLASSIFICATION',
  algorithm: 'MLP',
  hyperparameters: { epochs: 3, hiddenUnits: [64, 32], batchSize: 64, dropout: 0.1 },
  seed: 3,
};
const losses: Record<string, number[]> = {};
for (const backend of ['cpu', 'webgpu'] as const) {
  await initBackend(backend);
  const l: number[] = [];
  const out = await train(data, config, { onEpoch: (e) => void l.push(e.loss) });
  losses[backend] = l;
  console.log(
    `trainer, ${backend}: epoch losses ${l.map((x) => x.toFixed(6)).join(' ')}, accuracy ${out.metrics.accuracy?.toFixed(4)}` +
      (out.adapter ? `, adapter ${out.adapter.vendor} ${out.adapter.architecture}` : ''),
  );
}
const runDiff = Math.max(...losses.cpu!.map((x, i) => Math.abs(x - losses.webgpu![i]!)));
console.log(
  `trainer run: max |loss difference| ${runDiff.toExponential(2)} → ${runDiff <= 1e-5 ? 'VALID' : 'INVALID'}`,
);

// ---------------------------------------------------------------------------------------------
section('time per training step: webgpu vs wasm (Adam, softmax cross-entropy, ms/step)');

interface Shape extends ModelShape {
  label: string;
}
const shapes: Shape[] = [
  {
    label: 'tabular benchmark MLP',
    rows: 16_000,
    inputs: 16,
    hidden: [64, 32],
    outputs: 3,
    batchSize: 64,
  },
  {
    label: 'wide tabular',
    rows: 16_000,
    inputs: 256,
    hidden: [128, 64],
    outputs: 3,
    batchSize: 256,
  },
  {
    label: 'one-hot heavy',
    rows: 16_000,
    inputs: 1024,
    hidden: [256, 64],
    outputs: 3,
    batchSize: 256,
  },
  { label: 'hashed 4k', rows: 4_000, inputs: 4096, hidden: [256], outputs: 3, batchSize: 256 },
  { label: 'hashed 16k', rows: 2_000, inputs: 16_384, hidden: [256], outputs: 3, batchSize: 256 },
  {
    label: 'hashed 64k, small',
    rows: 1_000,
    inputs: 65_536,
    hidden: [64],
    outputs: 3,
    batchSize: 64,
  },
  { label: 'hashed 64k', rows: 1_000, inputs: 65_536, hidden: [256], outputs: 3, batchSize: 256 },
];

function seeded(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

/**
 * Times Adam steps of the shape on `backend`; returns ms/step and the first step's loss (the
 * same seeded weights and batch on every backend, so the first losses must agree).
 */
async function timeSteps(
  backend: string,
  shape: Shape,
): Promise<{ ms: number; steps: number; loss: number }> {
  await tf.setBackend(backend);
  await tf.ready();
  const sizes = [shape.inputs, ...shape.hidden, shape.outputs];
  const vars = sizes
    .slice(1)
    .flatMap((units, l) => [
      tf.variable(
        tf.tensor2d(seeded(sizes[l]! * units, 11 + l, 2 * Math.sqrt(6 / (sizes[l]! + units))), [
          sizes[l]!,
          units,
        ]),
      ),
      tf.variable(tf.zeros([units])),
    ]);
  const x = tf.tensor2d(seeded(shape.batchSize * shape.inputs, 5, 2), [
    shape.batchSize,
    shape.inputs,
  ]);
  const y = tf.oneHot(
    tf.tensor1d(
      Int32Array.from({ length: shape.batchSize }, (_, i) => i % shape.outputs),
      'int32',
    ),
    shape.outputs,
  );
  const optimizer = tf.train.adam(0.001);
  const stepOnce = () =>
    tf.tidy(
      () =>
        optimizer.minimize(
          () => {
            let h: tf.Tensor2D = x;
            for (let l = 0; l < vars.length; l += 2) {
              h = tf.add(tf.matMul(h, vars[l] as tf.Tensor2D), vars[l + 1]!);
              if (l + 2 < vars.length) h = tf.relu(h);
            }
            return tf.losses.softmaxCrossEntropy(y, h);
          },
          true,
          vars as tf.Variable[],
        )!,
    );
  try {
    // Warm-up (shaders, buffers); the first step's loss is the one compared across backends.
    const first = stepOnce();
    const loss = (await first.data())[0]!;
    first.dispose();
    if (backend === 'webgpu') {
      // a second untimed step: the backward pass's first use of some shaders
      const second = stepOnce();
      await second.data();
      second.dispose();
    }
    let steps = 0;
    let last: tf.Scalar | null = null;
    const t0 = performance.now();
    while (steps < MAX_STEPS && (steps < 1 || performance.now() - t0 < SHAPE_MS)) {
      last?.dispose();
      last = stepOnce();
      steps++;
      if (steps % 4 === 0) await last.data(); // keep the queue from running ahead unboundedly
    }
    await last!.data();
    const ms = (performance.now() - t0) / steps;
    last!.dispose();
    return { ms, steps, loss };
  } finally {
    tf.dispose([...vars, x, y]);
    optimizer.dispose();
  }
}

await initBackend('wasm');
const rows: Array<{
  shape: Shape;
  macs: number;
  gpu?: number;
  wasm?: number;
  valid: boolean;
  note: string;
}> = [];
for (const shape of shapes) {
  const macs = stepMacs(shape);
  const head = `${shape.label.padEnd(22)} ${[shape.inputs, ...shape.hidden, shape.outputs].join('→').padEnd(18)} batch ${String(shape.batchSize).padEnd(4)} ${(macs / 1e6).toFixed(1).padStart(8)} M MAC/step`;
  if (elapsed() > BUDGET_MS) {
    console.log(`${head}  not measured (time budget spent)`);
    continue;
  }
  // The timed step holds one batch, not the training matrix: time it if the step's tensors fit.
  const stepTooLarge = exceedsLimits({ ...shape, rows: shape.batchSize }, probe.adapter);
  if (stepTooLarge) {
    console.log(`${head}  INVALID on this adapter: ${stepTooLarge}`);
    rows.push({ shape, macs, valid: false, note: 'over buffer limit' });
    continue;
  }
  const trainerLimit = exceedsLimits(shape, probe.adapter);
  // The largest shape measured so far predicts whether this one fits the remaining budget
  // (wasm: a warm-up and a timed step; webgpu: two warm-ups and a timed step).
  const previous = rows.filter((r) => r.wasm && r.gpu).at(-1);
  const estimate = previous ? ((previous.wasm! * 2 + previous.gpu! * 3) * macs) / previous.macs : 0;
  if (estimate > BUDGET_MS - elapsed()) {
    console.log(
      `${head}  not measured: it would take about ${(estimate / 1000).toFixed(0)} s (time budget)`,
    );
    continue;
  }
  try {
    const w = await timeSteps('wasm', shape);
    const g = await timeSteps('webgpu', shape);
    const diff = Math.abs(w.loss - g.loss) / Math.max(1, Math.abs(w.loss));
    const valid = Number.isFinite(g.loss) && diff <= 1e-4;
    console.log(
      `${head}  webgpu ${g.ms.toFixed(2).padStart(8)} ms  wasm ${w.ms.toFixed(2).padStart(8)} ms  ` +
        `wasm/webgpu ${(w.ms / g.ms).toFixed(2).padStart(6)}  ${valid ? 'VALID' : 'INVALID'}` +
        ` (first-step loss ${g.loss.toFixed(6)} vs ${w.loss.toFixed(6)}; ${g.steps}/${w.steps} steps timed)` +
        (trainerLimit
          ? `; the trainer keeps ${shape.rows} rows of it off this adapter: ${trainerLimit}`
          : ''),
    );
    rows.push({ shape, macs, gpu: g.ms, wasm: w.ms, valid, note: '' });
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    console.log(`${head}  INVALID: ${why}`);
    rows.push({ shape, macs, valid: false, note: why ?? '' });
  }
}

section('threshold');
const measured = rows.filter((r) => r.valid && r.gpu && r.wasm);
// The smallest step size from which webgpu is faster on every larger measured shape.
let from: number | null = null;
for (const r of [...measured].sort((a, b) => b.macs - a.macs)) {
  if (r.gpu! < r.wasm!) from = r.macs;
  else break;
}
console.log(
  from === null
    ? 'webgpu won on no measured shape: keep auto on wasm (PESO_WEBGPU_MIN_STEP_MACS above the largest shape)'
    : `webgpu wins from ${(from / 1e6).toFixed(1)} M multiply-adds a step: PESO_WEBGPU_MIN_STEP_MACS=${Math.round(from)}`,
);
console.log(
  `current threshold: ${webgpuMinStepMacs()} (default ${WEBGPU_MIN_STEP_MACS}); ` +
    `${probe.adapter.software ? 'software adapter: auto never picks it, timings are for correctness only' : 'hardware adapter'}`,
);
console.log(`total ${(elapsed() / 1000).toFixed(0)} s`);
process.exit(0);
