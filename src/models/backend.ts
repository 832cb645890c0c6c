import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export interface BackendInfo {
  backend: string;
  device: string;
}

/** Resolved once per preference; later calls only re-activate the backend if it was switched. */
const resolved = new Map<BackendPreference, Promise<BackendInfo>>();
let active: BackendInfo | null = null;
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

/** Imports a native binding by a computed name: both packages are optional peers, often absent. */
async function importNative(pkg: string, backend: string, device: string): Promise<BackendInfo> {
  await import(pkg);
  return activate({ backend, device });
}

async function useWasm(): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // In Node the .wasm binaries are read from disk: point the loader at the package's dist.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    wasmPathsSet = true;
  }
  return activate({ backend: 'wasm', device: 'CPU' });
}

async function resolve(preference: BackendPreference): Promise<BackendInfo> {
  // The cpu backend's "install tfjs-node" banner is noise for a server that chose its backend.
  tf.env().set('PROD', true);
  switch (preference) {
    case 'tensorflow-gpu':
      return importNative('@tensorflow/tfjs-node-gpu', 'tensorflow', 'GPU');
    case 'tensorflow':
      return importNative('@tensorflow/tfjs-node', 'tensorflow', 'CPU');
    case 'wasm':
      return useWasm();
    case 'cpu':
      return activate({ backend: 'cpu', device: 'CPU' });
    case 'auto': {
      const attempts: Array<() => Promise<BackendInfo>> = [
        () => resolve('tensorflow-gpu'),
        () => resolve('tensorflow'),
        useWasm,
      ];
      for (const attempt of attempts) {
        try {
          return await attempt();
        } catch {
          // Expected where the optional native packages (or WebAssembly) are unavailable.
        }
      }
      return resolve('cpu');
    }
  }
}

/**
 * Selects the TensorFlow.js backend and waits until it is ready. `auto` tries tfjs-node-gpu,
 * tfjs-node, wasm, then cpu. Idempotent: each preference is resolved once per process; calling
 * again with another preference switches the active backend (tfjs has one active backend).
 */
export function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  let pending = resolved.get(preference);
  if (!pending) {
    pending = resolve(preference);
    resolved.set(preference, pending);
    pending.catch(() => resolved.delete(preference));
    return pending;
  }
  return pending.then(activate);
}

/** The backend last selected by {@link initBackend} (re-activated if switched), else `auto`. */
export function currentBackend(): Promise<BackendInfo> {
  return active ? activate(active) : initBackend('auto');
}
