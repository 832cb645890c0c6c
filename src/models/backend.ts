import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';
import {
  exceedsLimits,
  type GpuAdapterInfo,
  type ModelShape,
  PARITY_TOLERANCE,
  parityCheck,
  probeWebGpu,
  stepMacs,
  webgpuMinStepMacs,
} from './gpu';
import type { AdapterSummary } from './types';

export type BackendPreference =
  | 'auto'
  | 'webgpu'
  | 'tensorflow-gpu'
  | 'tensorflow'
  | 'wasm'
  | 'cpu';

export interface BackendInfo {
  backend: string;
  device: string;
  /** The WebGPU adapter (webgpu only), else null. */
  adapter: AdapterSummary | null;
  /** Why this backend was chosen (and, under `auto`, why the ones before it were not). */
  reason: string;
}

/** Resolved once per preference; later calls only re-activate the backend if it was switched. */
const resolved = new Map<BackendPreference, Promise<BackendInfo>>();
let active: BackendInfo | null = null;
let preference: BackendPreference = 'auto';
let wasmPathsSet = false;

async function activate(info: BackendInfo): Promise<BackendInfo> {
  if (tf.getBackend() !== info.backend) {
    if (!(await tf.setBackend(info.backend))) {
      throw new Error(`TensorFlow.js backend "${info.backend}" failed to initialize.`);
    }
  }
  await tf.ready();
  active = info;
  return info;
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Imports a native binding by a computed name (both are optional peers, usually absent) and
 * keeps it only if one seeded training step matches the CPU backend: tfjs-node(-gpu) 4.22 calls
 * `util.isNullOrUndefined`, which Node 23 removed, so on Node 24 its ops throw; and without a
 * matching cuDNN TensorFlow falls back to the CPU. No polyfill: a binding that needs one is
 * not trusted with training.
 */
async function importNative(
  pkg: string,
  backend: string,
  device: string,
  reason: string,
): Promise<BackendInfo> {
  await import(pkg);
  let parity: Awaited<ReturnType<typeof parityCheck>>;
  try {
    parity = await parityCheck(backend);
  } catch (error) {
    throw new Error(`${pkg} loaded but failed its one-step self-check: ${message(error)}`);
  }
  if (!parity.ok) {
    throw new Error(
      `${pkg} differs from the CPU backend by ${parity.maxDifference.toExponential(2)} on one seeded step`,
    );
  }
  return activate({ backend, device, adapter: null, reason });
}

async function useWasm(reason: string): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // In Node the .wasm binaries are read from disk: point the loader at the package's dist.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    wasmPathsSet = true;
  }
  return activate({ backend: 'wasm', device: 'CPU', adapter: null, reason });
}

// ---------------------------------------------------------------------------------------------
// WebGPU: the adapter Dawn finds, checked once per process against the CPU backend.

type GpuState =
  | { ok: true; adapter: GpuAdapterInfo; info: BackendInfo }
  | { ok: false; reason: string };
let gpuState: Promise<GpuState> | null = null;

function summary(a: GpuAdapterInfo): AdapterSummary {
  return {
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    description: a.description,
  };
}

function adapterName(a: GpuAdapterInfo): string {
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' ');
}

/**
 * Loads Dawn, finds an adapter and runs the seeded one-step parity check against the CPU backend
 * (once per process; the backend active before is left active). Never throws: a failure is the
 * reason the GPU is refused.
 */
export function webgpuStatus(): Promise<GpuState> {
  gpuState ??= (async (): Promise<GpuState> => {
    const probe = await probeWebGpu();
    if (!probe.ok) return probe;
    const before = tf.getBackend();
    try {
      const parity = await parityCheck('webgpu');
      if (!parity.ok) {
        return {
          ok: false,
          reason:
            `the WebGPU adapter (${adapterName(probe.adapter)}) differs from the CPU backend by ` +
            `${parity.maxDifference.toExponential(2)} on one seeded training step (tolerance ` +
            `${PARITY_TOLERANCE}): refused`,
        };
      }
      const device = probe.adapter.software ? 'CPU' : 'GPU';
      return {
        ok: true,
        adapter: probe.adapter,
        info: {
          backend: 'webgpu',
          device,
          adapter: summary(probe.adapter),
          reason: `WebGPU adapter ${adapterName(probe.adapter)} passed its parity check`,
        },
      };
    } catch (error) {
      return { ok: false, reason: `the WebGPU backend failed its parity check: ${message(error)}` };
    } finally {
      if (before && tf.getBackend() !== before) await tf.setBackend(before);
    }
  })();
  return gpuState;
}

async function resolve(pref: BackendPreference): Promise<BackendInfo> {
  // The cpu backend's "install tfjs-node" banner is noise for a server that chose its backend.
  tf.env().set('PROD', true);
  const asked = `TF_BACKEND=${pref}`;
  switch (pref) {
    case 'webgpu': {
      const gpu = await webgpuStatus();
      if (!gpu.ok) throw new Error(`TF_BACKEND=webgpu, but ${gpu.reason}.`);
      return activate({ ...gpu.info, reason: `${asked}; ${gpu.info.reason}` });
    }
    case 'tensorflow-gpu':
      return importNative('@tensorflow/tfjs-node-gpu', 'tensorflow', 'GPU', asked);
    case 'tensorflow':
      return importNative('@tensorflow/tfjs-node', 'tensorflow', 'CPU', asked);
    case 'wasm':
      return useWasm(asked);
    case 'cpu':
      return activate({ backend: 'cpu', device: 'CPU', adapter: null, reason: asked });
    case 'auto': {
      // The CPU-side backend for models below the GPU threshold; WebGPU is decided per run.
      const skipped: string[] = [];
      const attempts: Array<[string, (why: string) => Promise<BackendInfo>]> = [
        [
          'tfjs-node-gpu',
          (why) => importNative('@tensorflow/tfjs-node-gpu', 'tensorflow', 'GPU', why),
        ],
        ['tfjs-node', (why) => importNative('@tensorflow/tfjs-node', 'tensorflow', 'CPU', why)],
        ['wasm', useWasm],
      ];
      for (const [name, attempt] of attempts) {
        try {
          return await attempt(`auto: ${name}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
        } catch (error) {
          // Expected where the optional native packages (or WebAssembly) are unavailable.
          skipped.push(`${name}: ${message(error)}`);
        }
      }
      return activate({
        backend: 'cpu',
        device: 'CPU',
        adapter: null,
        reason: `auto: cpu (${skipped.join('; ')})`,
      });
    }
  }
}

/**
 * Selects the TensorFlow.js backend and waits until it is ready. `auto` picks, of tfjs-node-gpu
 * and tfjs-node, the first that loads and passes a one-step self-check, else wasm, else cpu;
 * training runs may then move to WebGPU ({@link backendForRun}). Idempotent: each preference is
 * resolved once per process; calling again with another preference switches the active backend
 * (tfjs has one active backend).
 */
export function initBackend(pref: BackendPreference = 'auto'): Promise<BackendInfo> {
  preference = pref;
  let pending = resolved.get(pref);
  if (!pending) {
    pending = resolve(pref);
    resolved.set(pref, pending);
    pending.catch(() => resolved.delete(pref));
    return pending;
  }
  return pending.then(activate);
}

/** The backend last selected by {@link initBackend} (re-activated if switched), else `auto`. */
export function currentBackend(): Promise<BackendInfo> {
  return active ? activate(active) : initBackend('auto');
}

function millions(n: number): string {
  return `${(n / 1e6).toFixed(2)} M`;
}

/** The first reason any of the run's models does not fit the adapter, else null. */
function notFitting(shapes: ModelShape[], adapter: GpuAdapterInfo): string | null {
  for (const shape of shapes) {
    const why = exceedsLimits(shape, adapter);
    if (why) return why;
  }
  return null;
}

/**
 * The backend a training run uses, activated; `shapes` are its models (one per candidate). Under
 * `auto`: WebGPU when a hardware adapter passed its parity check, the run's largest model reaches
 * the GPU threshold in multiply-adds per step and every tensor of every model fits the adapter's
 * buffer limits; else the backend {@link initBackend} chose, with the reason. Under `webgpu`, a run
 * whose tensors do not fit is refused (InputError) instead of training on garbage.
 */
export async function backendForRun(shapes: ModelShape[]): Promise<BackendInfo> {
  const pref = active ? preference : 'auto';
  const base = await initBackend(pref);
  if (base.backend === 'webgpu') {
    const gpu = await webgpuStatus();
    const tooLarge = gpu.ok ? notFitting(shapes, gpu.adapter) : null;
    if (tooLarge) {
      throw new InputError(
        `This run does not fit the GPU: ${tooLarge}. Lower hyperparameters.batchSize or ` +
          'hiddenUnits, train on fewer rows, or use another TF_BACKEND.',
        'hyperparameters',
      );
    }
    return base;
  }
  if (pref !== 'auto') return base;
  const macs = Math.max(0, ...shapes.map(stepMacs));
  const threshold = webgpuMinStepMacs();
  const stay = (why: string) => activate({ ...base, reason: `${base.reason}; not WebGPU: ${why}` });
  if (macs < threshold) {
    return stay(
      `${millions(macs)} multiply-adds a step, below the GPU threshold of ${millions(threshold)}`,
    );
  }
  // Adapter and limits first: the parity check (a second backend's first step) only when needed.
  const probe = await probeWebGpu();
  if (!probe.ok) return stay(probe.reason);
  if (probe.adapter.software) {
    return stay(
      `the only adapter is a software one (${adapterName(probe.adapter)}), slower than wasm`,
    );
  }
  const tooLarge = notFitting(shapes, probe.adapter);
  if (tooLarge) return stay(tooLarge);
  const gpu = await webgpuStatus();
  if (!gpu.ok) return stay(gpu.reason);
  return activate({
    ...gpu.info,
    reason: `auto: ${millions(macs)} multiply-adds a step (GPU threshold ${millions(threshold)}); ${gpu.info.reason}`,
  });
}
