/**
 * runtime-web's ONNX Runtime engine: ONNX Runtime Web (its webgpu or wasm execution provider)
 * injected into core's ORT session, so the browser runs ONNX models with the same session options
 * as runtime-node and the converter. No tfjs here: the lean `edgeseg/runtime-web/ort` entry's
 * worker imports this module alone; the full engine wraps the session in a tfjs runner (webOrtRunner).
 */
import * as ort from 'onnxruntime-web/webgpu';
import bundledOrtWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { ConfigError } from '../core/errors.js';
import type { ModelContract } from '../core/contract.js';
import type { ModelRunner } from '../core/engine.js';
import { ortRunner, OrtSession } from '../core/ort_runner.js';
import { ORT_WASM_FILE, type WasmPaths, type WebBackend } from './segmenter_api.js';

let ortConfigured = false;

function configureOrt(wasmPaths: WasmPaths | null): void {
  if (ortConfigured) return;
  // Vite's URL of the binary: the app's own build, or the file beside the library bundle
  // (vite.config.ts: wasmBesideLibrary), which the app's bundler emits in turn.
  const bundled = bundledOrtWasm as string | null;
  const wasm = typeof wasmPaths === 'string' ? null : (wasmPaths?.[ORT_WASM_FILE] ?? bundled);
  if (typeof wasmPaths !== 'string' && !wasm) {
    throw new ConfigError(`the ONNX Runtime engine needs ${ORT_WASM_FILE}: serve it (node_modules/edgeseg/dist/runtime-web/${ORT_WASM_FILE}) and pass wasmPaths (a folder URL, or { '${ORT_WASM_FILE}': url })`);
  }
  if (typeof wasmPaths === 'string') ort.env.wasm.wasmPaths = wasmPaths;
  else ort.env.wasm.wasmPaths = { wasm: wasm! };
  // One thread, like tfjs' wasm here (its threads are off in bundled builds), and no proxy
  // worker: runtime-web already runs the engine off the main thread.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ortConfigured = true;
}

/**
 * An ONNX Runtime Web session on `onnx`: the webgpu execution provider on the webgpu backend,
 * wasm otherwise. `contract` is the card's: an imported ONNX model's own tensor names and layout.
 */
export function webOrtSession(onnx: Uint8Array, backend: WebBackend, wasmPaths: WasmPaths | null, contract?: ModelContract): Promise<OrtSession> {
  configureOrt(wasmPaths);
  return OrtSession.create(ort, onnx, { provider: backend === 'webgpu' ? 'webgpu' : 'wasm', contract });
}

/** `webOrtSession` as core's ModelRunner (tfjs batch in, logits in memory out), for the full engine. */
export function webOrtRunner(onnx: Uint8Array, backend: WebBackend, wasmPaths: WasmPaths | null, contract?: ModelContract): Promise<ModelRunner> {
  configureOrt(wasmPaths);
  return ortRunner(ort, onnx, { provider: backend === 'webgpu' ? 'webgpu' : 'wasm', contract });
}
