/**
 * The two engines runtime-web can run a model with, behind one interface: tfjs layers (on the
 * active tfjs backend) and ONNX Runtime Web (its webgpu or wasm execution provider). Both take
 * core's preprocessed [1, 128, 128, 3] input tensor and give logits of the same shape: tfjs as a
 * tensor on its backend, ONNX Runtime as the values it read back (summarised in plain JS).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-web/webgpu';
import bundledOrtWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { ConfigError, INPUT_NAME, INPUT_SIZE, OUTPUT_NAME } from '../core/index.js';
import { ORT_WASM_FILE, type WasmPaths, type WebBackend, type WebEngine } from './segmenter.js';

export interface ModelRunner {
  engine: WebEngine;
  /** ONNX Runtime's execution provider; null for tfjs. */
  provider: string | null;
  /** Logits of a preprocessed input: a tensor (the caller disposes it) or values in memory. */
  predict(input: tf.Tensor4D): Promise<tf.Tensor4D | Float32Array>;
  dispose(): Promise<void>;
}

export async function tfjsRunner(artifacts: tf.io.ModelArtifacts): Promise<ModelRunner> {
  const model = await loadLayersModel(tf.io.fromMemory(artifacts));
  return {
    engine: 'tfjs',
    provider: null,
    predict: async (input) => tf.tidy(() => model.predict(input) as tf.Tensor4D),
    dispose: async () => {
      model.dispose();
    },
  };
}

let ortConfigured = false;

function configureOrt(wasmPaths: WasmPaths | null): void {
  if (ortConfigured) return;
  // The library build carries no copy (it is a file beside the bundle, for the app to serve).
  const bundled = bundledOrtWasm as string | null;
  const wasm = typeof wasmPaths === 'string' ? null : (wasmPaths?.[ORT_WASM_FILE] ?? bundled);
  if (typeof wasmPaths !== 'string' && !wasm) {
    throw new ConfigError(`the ONNX Runtime engine needs ${ORT_WASM_FILE}: serve the copy beside dist/runtime-web and pass wasmPaths (a folder URL, or { '${ORT_WASM_FILE}': url })`);
  }
  if (typeof wasmPaths === 'string') ort.env.wasm.wasmPaths = wasmPaths;
  else ort.env.wasm.wasmPaths = { wasm: wasm! };
  // One thread, like tfjs' wasm here (its threads are off in bundled builds), and no proxy
  // worker: runtime-web already runs the engine off the main thread.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ortConfigured = true;
}

/** ONNX Runtime Web on `onnx`: the webgpu execution provider on the webgpu backend, wasm otherwise. */
export async function ortRunner(onnx: Uint8Array, backend: WebBackend, wasmPaths: WasmPaths | null): Promise<ModelRunner> {
  configureOrt(wasmPaths);
  const provider = backend === 'webgpu' ? 'webgpu' : 'wasm';
  const session = await ort.InferenceSession.create(onnx, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  return {
    engine: 'ort',
    provider,
    predict: async (input) => {
      const data = (await input.data()) as Float32Array;
      const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', data, [1, INPUT_SIZE, INPUT_SIZE, 3]) }, [OUTPUT_NAME]);
      const logits = out[OUTPUT_NAME];
      const values = (await logits.getData()) as Float32Array;
      logits.dispose();
      return values;
    },
    dispose: () => session.release(),
  };
}

/** Runs the model on a blank input `runs` times, reading the logits back; returns each run's ms. */
export async function timeRuns(runner: ModelRunner, runs: number): Promise<number[]> {
  const ms: number[] = [];
  const input = tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3]) as tf.Tensor4D;
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const y = await runner.predict(input);
      if (y instanceof tf.Tensor) {
        await y.data();
        y.dispose();
      }
      ms.push(performance.now() - t0);
    }
  } finally {
    input.dispose();
  }
  return ms;
}
