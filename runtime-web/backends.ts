/**
 * Backend selection in priority order (webgpu → webgl → wasm), with feature detection before
 * each attempt and every failure kept: if none works, one error lists each backend's reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendUnavailableError } from '../core/index.js';
import { WEB_BACKENDS, type WasmPaths, type WebBackend } from './segmenter.js';
import { BUNDLED_WASM_PATHS } from './wasm_paths.js';

/** Why a backend cannot run here, or null when it may. */
async function unsupported(name: WebBackend): Promise<string | null> {
  switch (name) {
    case 'webgpu': {
      const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
      if (!gpu) return 'navigator.gpu is absent (WebGPU disabled or unsupported)';
      return (await gpu.requestAdapter()) ? null : 'no WebGPU adapter';
    }
    case 'webgl': {
      if (typeof OffscreenCanvas === 'undefined') return 'OffscreenCanvas is absent';
      return new OffscreenCanvas(1, 1).getContext('webgl2') ? null : 'no WebGL2 context';
    }
    case 'wasm':
      return typeof WebAssembly === 'object' ? null : 'WebAssembly is absent';
  }
}

let wasmPathsSet = false;

/**
 * Activates the first backend of `requested` (or of all, for `auto`) that initialises.
 * `fresh` re-creates a backend that was already set up (after a GPU device loss).
 */
export async function selectWebBackend(requested: WebBackend | 'auto', wasmPaths: WasmPaths | null, fresh = false): Promise<{ backend: WebBackend; skipped: Record<string, string> }> {
  if (!wasmPathsSet) {
    // tfjs starts its wasm threads from the source text of its own module factory, which a
    // bundler's minifier breaks (the threads die with "e is not defined"): stay on the
    // single-threaded SIMD build, which works everywhere.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(wasmPaths ?? BUNDLED_WASM_PATHS);
    wasmPathsSet = true;
  }
  const candidates = requested === 'auto' ? WEB_BACKENDS : [requested];
  const skipped: Record<string, string> = {};
  for (const name of candidates) {
    const why = await unsupported(name);
    if (why) {
      skipped[name] = why;
      continue;
    }
    try {
      if (fresh && tf.findBackend(name)) {
        const factory = tf.findBackendFactory(name);
        tf.removeBackend(name);
        tf.registerBackend(name, factory);
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { backend: name, skipped };
      }
      skipped[name] = 'initialisation failed';
    } catch (err) {
      skipped[name] = err instanceof Error ? err.message : String(err);
    }
  }
  throw new BackendUnavailableError(skipped);
}

/** Calls `onLost` once if the active WebGPU backend's device is lost. */
export function watchDeviceLoss(onLost: () => void): void {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  void device?.lost.then(onLost);
}
