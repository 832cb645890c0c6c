/**
 * The WebGPU backend for training: TensorFlow.js's `@tensorflow/tfjs-backend-webgpu` on Dawn (the
 * `webgpu` package, an N-API addon with prebuilt binaries) driving the host's Vulkan driver.
 *
 * Everything here loads lazily: a machine without Vulkan (or where the addon cannot load) gets a
 * reason string, never an exception at import, so installing and testing Peso needs no GPU.
 *
 * Guards against a silent wrong answer:
 * - the device's `uncapturederror` events and its loss are recorded, and the next read of any
 *   tensor from the GPU throws a {@link GpuError} (so the epoch's loss read fails the run);
 * - {@link largestTensor} sizes every tensor a training run allocates, so a run whose tensors
 *   would pass the adapter's `maxStorageBufferBindingSize` is refused before it starts (Dawn
 *   rejects such a binding with a validation error that tfjs does not throw: it would train on
 *   zeros);
 * - {@link parityCheck} runs one seeded training step on the CPU backend and on the candidate and
 *   refuses it when they differ.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PesoError } from '../errors';

/** What Dawn says about the adapter it picked. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (e.g. Mesa's lavapipe): correct, but slower than wasm. */
  software: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** The GPU failed or was lost during a run; the run stops instead of going on with wrong values. */
export class GpuError extends PesoError {
  readonly code = 'GPU_ERROR';
}

/**
 * Multiply-adds per training step (batch rows × Σ fan-in × units) from which `auto` trains on a
 * hardware WebGPU adapter instead of wasm. Below it (tabular MLPs: 16→64→32→3 at batch 64 is
 * 0.2 M) wasm takes about a millisecond a step and a GPU's dispatch overhead loses. Provisional
 * until `bench/gpu.ts` is run on a GPU host; `PESO_WEBGPU_MIN_STEP_MACS` overrides it.
 */
export const WEBGPU_MIN_STEP_MACS = 1 << 24;

export function webgpuMinStepMacs(): number {
  const raw = process.env.PESO_WEBGPU_MIN_STEP_MACS;
  const value = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : WEBGPU_MIN_STEP_MACS;
}

/** Sizes of one training run, known before its tensors are allocated. */
export interface ModelShape {
  /** Training rows (the largest data tensor). */
  rows: number;
  /** Input width after preprocessing. */
  inputs: number;
  hidden: number[];
  outputs: number;
  batchSize: number;
  /** Rows of the largest evaluation tensor (default: rows, capped at 10,000). */
  evalRows?: number;
}

const FLOAT_BYTES = 4;
/** Rows of the per-epoch training metric in train.ts (EPOCH_METRIC_ROWS). */
const EVAL_ROWS = 10_000;

export function stepMacs(shape: ModelShape): number {
  const sizes = [shape.inputs, ...shape.hidden, shape.outputs];
  let perRow = 0;
  for (let l = 1; l < sizes.length; l++) perRow += sizes[l - 1]! * sizes[l]!;
  return Math.min(shape.batchSize, shape.rows) * perRow;
}

/** The largest single tensor a training run of this shape allocates, in bytes, and what it is. */
export function largestTensor(shape: ModelShape): { bytes: number; what: string } {
  const sizes = [shape.inputs, ...shape.hidden, shape.outputs];
  const widest = Math.max(...sizes);
  const batch = Math.min(shape.batchSize, shape.rows);
  const evalRows = shape.evalRows ?? Math.min(shape.rows, EVAL_ROWS);
  const candidates: Array<{ bytes: number; what: string }> = [
    {
      bytes: shape.rows * shape.inputs * FLOAT_BYTES,
      what: `the training matrix (${shape.rows} rows × ${shape.inputs} inputs)`,
    },
    {
      bytes: evalRows * widest * FLOAT_BYTES,
      what: `an evaluation pass (${evalRows} rows × ${widest} units)`,
    },
    {
      bytes: batch * widest * FLOAT_BYTES,
      what: `a batch (${batch} rows × ${widest} units)`,
    },
  ];
  for (let l = 1; l < sizes.length; l++) {
    candidates.push({
      bytes: sizes[l - 1]! * sizes[l]! * FLOAT_BYTES,
      what: `layer ${l}'s weights (${sizes[l - 1]} × ${sizes[l]})`,
    });
  }
  return candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

/** Null when every tensor of the run fits the adapter's buffer limits, else why not. */
export function exceedsLimits(shape: ModelShape, adapter: GpuAdapterInfo): string | null {
  const limit = Math.min(adapter.maxStorageBufferBindingSize, adapter.maxBufferSize);
  const largest = largestTensor(shape);
  if (largest.bytes <= limit) return null;
  return (
    `${largest.what} takes ${largest.bytes.toLocaleString('en-US')} bytes, more than the GPU's ` +
    `largest storage buffer (${limit.toLocaleString('en-US')} bytes)`
  );
}

// ---------------------------------------------------------------------------------------------
// The host's Vulkan: the loader (libvulkan1) and the drivers' ICD manifests.

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
];
const ICD_DIRS = [
  '/usr/share/vulkan/icd.d',
  '/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/local/etc/vulkan/icd.d',
];

/** The Vulkan loader and ICD manifests this host has (what Dawn can find), by path. */
export function vulkanFiles(): { loader: string | null; icds: string[] } {
  const loader = LIB_DIRS.map((d) => join(d, 'libvulkan.so.1')).find((f) => existsSync(f)) ?? null;
  const listed = (process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? '')
    .split(':')
    .filter((f) => f && existsSync(f));
  const icds = listed.length
    ? listed
    : ICD_DIRS.flatMap((d) => {
        try {
          return readdirSync(d)
            .filter((f) => f.endsWith('.json'))
            .map((f) => join(d, f));
        } catch {
          return [];
        }
      });
  return { loader, icds };
}

// ---------------------------------------------------------------------------------------------
// Loading Dawn and registering the backend.

type Probe = { ok: true; adapter: GpuAdapterInfo } | { ok: false; reason: string };

let probed: Promise<Probe> | null = null;
/** GPU errors since the last read, and the loss of the device (sticky). */
const guard = { errors: [] as string[], lost: null as string | null };

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

/** Throws the GPU's pending error, if any (once per error; a lost device throws every time). */
export function throwIfGpuFailed(): void {
  if (guard.lost) throw new GpuError(`The GPU device was lost: ${guard.lost}`);
  if (!guard.errors.length) return;
  const [first, ...rest] = guard.errors.splice(0);
  throw new GpuError(
    `The GPU reported an error, so the run stopped instead of continuing on wrong values: ${first}` +
      (rest.length ? ` (and ${rest.length} more)` : ''),
  );
}

/**
 * Loads Dawn, finds an adapter and registers a `webgpu` backend whose device reports its errors
 * (see {@link throwIfGpuFailed}). Resolved once per process; never throws.
 */
export function probeWebGpu(): Promise<Probe> {
  probed ??= loadWebGpu().catch(
    (error): Probe => ({ ok: false, reason: `WebGPU failed to load: ${firstLine(error)}` }),
  );
  return probed;
}

async function loadWebGpu(): Promise<Probe> {
  // The cpu backend's "install tfjs-node" banner is noise for a server that chose its backend.
  tf.env().set('PROD', true);
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (error) {
    return { ok: false, reason: `the webgpu package (Dawn) did not load: ${firstLine(error)}` };
  }
  const g = globalThis as Record<string, unknown>;
  // The backend reads the WebGPU constants (GPUBufferUsage, …) from the global scope.
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const vk = vulkanFiles();
    const missing = !vk.loader
      ? 'libvulkan.so.1 is missing (install libvulkan1)'
      : !vk.icds.length
        ? "no Vulkan ICD is installed (the GPU driver's Vulkan part)"
        : `Dawn accepted none of the Vulkan drivers (${vk.icds.join(', ')})`;
    return {
      ok: false,
      reason:
        `no WebGPU adapter: ${missing}; a GPU host needs its driver with the Vulkan ICD and ` +
        'libvulkan1 (in a container, the graphics driver capability)',
    };
  }
  const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const info: GpuAdapterInfo = {
    vendor: raw.vendor,
    architecture: raw.architecture,
    device: raw.device,
    description: raw.description,
    software: raw.isFallbackAdapter === true || raw.architecture === 'software',
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };

  // tfjs-backend-webgpu registers its own factory at import when navigator.gpu is set; ours
  // replaces it so that the device is ours to watch.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  if (!g.navigator) g.navigator = {};
  const nav = g.navigator as Record<string, unknown>;
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const limits = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      device.addEventListener('uncapturederror', (event) => {
        guard.errors.push(firstLine((event as GPUUncapturedErrorEvent).error.message));
      });
      void device.lost.then((lost) => {
        guard.lost = `${lost.reason}: ${firstLine(lost.message)}`;
      });
      const backend = new WebGPUBackend(device, raw);
      // Every value that leaves the GPU passes here: an error recorded since the last read
      // fails it, so no result computed after a GPU error reaches a caller.
      const read = backend.read.bind(backend);
      const readSync = backend.readSync.bind(backend);
      backend.read = async (dataId) => {
        const values = await read(dataId);
        throwIfGpuFailed();
        return values;
      };
      backend.readSync = (dataId) => {
        const values = readSync(dataId);
        throwIfGpuFailed();
        return values;
      };
      return backend;
    },
    // Lowest priority: tfjs never picks it by itself; backend.ts activates it by name.
    0,
  );
  return { ok: true, adapter: info };
}

// ---------------------------------------------------------------------------------------------
// Parity: one seeded training step on the CPU backend and on the candidate.

/** Largest relative difference accepted between the CPU backend and a candidate, per value. */
export const PARITY_TOLERANCE = 1e-5;

export interface ParityResult {
  ok: boolean;
  /** Largest |a − b| / max(1, |a|) over the step's loss and updated weights. */
  maxDifference: number;
  loss: { cpu: number; candidate: number };
}

/** A fixed seeded problem: 64 rows × 16 inputs → 32 relu → 3 softmax, one Adam step. */
async function oneStep(): Promise<Float32Array> {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => next() * scale);
  const xs = fill(64 * 16, 2);
  const labels = Int32Array.from({ length: 64 }, (_, i) => (xs[i * 16]! > 0 ? 1 : i % 3));
  const w1Init = fill(16 * 32, 0.5);
  const w2Init = fill(32 * 3, 0.5);
  const w1 = tf.variable(tf.tensor2d(w1Init, [16, 32]));
  const b1 = tf.variable(tf.zeros([32]));
  const w2 = tf.variable(tf.tensor2d(w2Init, [32, 3]));
  const b2 = tf.variable(tf.zeros([3]));
  const optimizer = tf.train.adam(0.01);
  try {
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(xs, [64, 16]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
      return optimizer.minimize(
        () => {
          const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
          return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w2), b2));
        },
        true,
        [w1, b1, w2, b2],
      )!;
    });
    const parts = await Promise.all(
      [loss, w1, b1, w2, b2].map((t) => t.data() as Promise<Float32Array>),
    );
    loss.dispose();
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  } finally {
    tf.dispose([w1, b1, w2, b2]);
    optimizer.dispose();
  }
}

/**
 * Runs the seeded step on `cpu` and on `backend` (left active afterwards) and compares the loss
 * and every updated weight. Throws only if `backend` fails to initialize or a GPU error occurs.
 */
export async function parityCheck(backend: string): Promise<ParityResult> {
  if (!(await tf.setBackend('cpu'))) throw new Error('The cpu backend failed to initialize.');
  const reference = await oneStep();
  if (!(await tf.setBackend(backend))) {
    throw new Error(`TensorFlow.js backend "${backend}" failed to initialize.`);
  }
  await tf.ready();
  const candidate = await oneStep();
  let maxDifference = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i]!;
    const b = candidate[i]!;
    const d = Number.isFinite(b)
      ? Math.abs(a - b) / Math.max(1, Math.abs(a))
      : Number.POSITIVE_INFINITY;
    if (d > maxDifference) maxDifference = d;
  }
  return {
    ok: maxDifference <= PARITY_TOLERANCE,
    maxDifference,
    loss: { cpu: reference[0]!, candidate: candidate[0]! },
  };
}
