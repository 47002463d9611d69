/**
 * runtime-web's tfjs backends: what this browser offers (the WebGPU adapter and the WebGL
 * renderer, with software ones named as such), and activating one. tfjs has one active backend
 * at a time; the engine switches it only while it holds its lock.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { softwareAdapterReason } from '../core/adapters.js';
import type { WasmPaths, WebBackend } from './segmenter_api.js';
import { BUNDLED_WASM_PATHS } from './wasm_paths.js';

/** What a backend offers here: why it cannot run (or is software), and the adapter's name. */
export interface BackendProbe {
  /** The adapter or renderer, as the browser names it; null when there is none. */
  adapter: string | null;
  /** Why the backend cannot run here at all, or null. */
  unsupported: string | null;
  /** Why `auto` passes it over although it runs (a software or fallback adapter), or null. */
  software: string | null;
}

type GpuAdapterWithInfo = GPUAdapter & { isFallbackAdapter?: boolean; info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } };

async function probeWebgpu(): Promise<BackendProbe> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: null, unsupported: 'navigator.gpu is absent (WebGPU disabled or unsupported)', software: null };
  const adapter = (await gpu.requestAdapter()) as GpuAdapterWithInfo | null;
  if (!adapter) return { adapter: null, unsupported: 'no WebGPU adapter', software: null };
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unnamed WebGPU adapter';
  return { adapter: name, unsupported: null, software: softwareAdapterReason(name, Boolean(info?.isFallbackAdapter ?? adapter.isFallbackAdapter)) };
}

function probeWebgl(): BackendProbe {
  if (typeof OffscreenCanvas === 'undefined') return { adapter: null, unsupported: 'OffscreenCanvas is absent', software: null };
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return { adapter: null, unsupported: 'no WebGL2 context', software: null };
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { adapter: name, unsupported: null, software: softwareAdapterReason(name) };
}

/** Probes one backend (no tfjs state is touched). */
export async function probeBackend(name: WebBackend): Promise<BackendProbe> {
  switch (name) {
    case 'webgpu':
      return probeWebgpu();
    case 'webgl':
      return probeWebgl();
    case 'wasm':
      return { adapter: null, unsupported: typeof WebAssembly === 'object' ? null : 'WebAssembly is absent', software: null };
  }
}

let wasmPathsSet = false;

/**
 * Makes `name` tfjs' active backend, initialising it the first time. `fresh` re-creates a backend
 * that was set up before (after a GPU device loss). Throws with the reason when it cannot start.
 */
export async function activateBackend(name: WebBackend, wasmPaths: WasmPaths | null, fresh = false): Promise<void> {
  if (!wasmPathsSet) {
    // tfjs starts its wasm threads from the source text of its own module factory, which a
    // bundler's minifier breaks (the threads die with "e is not defined"): stay on the
    // single-threaded SIMD build, which works everywhere.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(wasmPaths ?? BUNDLED_WASM_PATHS);
    wasmPathsSet = true;
  }
  if (fresh && tf.findBackend(name)) {
    const factory = tf.findBackendFactory(name);
    tf.removeBackend(name);
    tf.registerBackend(name, factory);
  }
  // engine().backendName, not getBackend(): the latter initialises tfjs' own first choice (WebGPU, even a software one).
  if (!fresh && tf.engine().backendName === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise ${name}`);
  await tf.ready();
}

/** Calls `onLost` once if the active WebGPU backend's device is lost. */
export function watchDeviceLoss(onLost: () => void): void {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  void device?.lost.then(onLost);
}
