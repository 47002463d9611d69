/**
 * The engine interface of both runtimes: what runs a model (tfjs layers, or ONNX Runtime on the
 * version's ONNX file), how that was decided, and one runner shape that runtime-web's worker,
 * runtime-node's inference workers and the benchmarks all call. Each runner takes core's
 * preprocessed [N, 128, 128, 3] batch and gives logits of the same shape: tfjs as a tensor on its
 * backend, ONNX Runtime as the values it read back (summarised in plain JS: a round trip through
 * tfjs cost a quarter of the frame in runtime-node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { INPUT_CHANNELS, INPUT_SIZE } from './contract.js';
import { summarizeLogits, summarizeLogitsData, type Segmentation } from './postprocess.js';

/** What can run a model: tfjs layers, or ONNX Runtime on the version's ONNX file. */
export const ENGINE_KINDS = ['tfjs', 'ort'] as const;
/** What runs a model: `tfjs` (layers model) or `ort` (ONNX Runtime on the version's ONNX file). */
export type EngineKind = (typeof ENGINE_KINDS)[number];
/** An engine option: one engine, or `auto` (each runtime documents how it decides). */
export type EngineRequest = EngineKind | 'auto';

/** How the engine of a model was chosen: the same record in runtime-web and runtime-node. */
export interface EngineChoice {
  requested: EngineRequest;
  chosen: EngineKind;
  /** ONNX Runtime's execution provider (`wasm`, `webgpu`, `cpu`, `cuda`) when ort runs the model; null for tfjs. */
  provider: string | null;
  /** Why this engine: the option, the formats the version has, or the measurement. */
  reason: string;
  /** `auto` decided by measurement: median model time per engine in the calibration, ms. */
  measuredMs: Partial<Record<EngineKind, number>> | null;
  /** The choice came from the cache of an earlier calibration on this device. */
  fromCache: boolean;
  /** `auto`: engines that could not run here, and why. */
  failed?: Partial<Record<EngineKind, string>>;
}

/** A model loaded in one engine. */
export interface ModelRunner {
  readonly engine: EngineKind;
  /** ONNX Runtime's execution provider; null for tfjs. */
  readonly provider: string | null;
  /** Logits of a preprocessed batch: a tensor (the caller disposes it) or values in memory. */
  predict(input: tf.Tensor4D): Promise<tf.Tensor4D | Float32Array>;
  dispose(): Promise<void>;
}

/** The part of a tfjs LayersModel a runner needs (runtimes load it their own way: fetch or files). */
export interface LayersModelLike {
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  dispose(): unknown;
}

/** tfjs layers on the active tfjs backend. */
export function tfjsRunner(model: LayersModelLike): ModelRunner {
  return {
    engine: 'tfjs',
    provider: null,
    predict: async (input) => tf.tidy(() => model.predict(input) as tf.Tensor4D),
    dispose: async () => {
      model.dispose();
    },
  };
}

/** Mask and statistics of each of `n` frames from a runner's logits (a tensor is disposed). */
export async function summarizeOutput(logits: tf.Tensor4D | Float32Array, n: number): Promise<Segmentation[]> {
  if (logits instanceof Float32Array) return summarizeLogitsData(logits, n);
  try {
    return await summarizeLogits(logits);
  } finally {
    logits.dispose();
  }
}

/** Mask and statistics of each frame of a preprocessed batch (the caller disposes the batch). */
export async function segmentBatch(runner: ModelRunner, batch: tf.Tensor4D): Promise<Segmentation[]> {
  return summarizeOutput(await runner.predict(batch), batch.shape[0]);
}

/**
 * Runs the model on a blank one-frame input `runs` times, reading the logits back; returns each
 * run's ms. The first runs compile kernels (shaders, wasm) and allocate: warm-up and calibration.
 */
export async function timeRuns(runner: ModelRunner, runs: number): Promise<number[]> {
  const ms: number[] = [];
  const input = tf.zeros([1, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]) as tf.Tensor4D;
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const y = await runner.predict(input);
      if (!(y instanceof Float32Array)) {
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
