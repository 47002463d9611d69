/**
 * The engine interface of both runtimes: what runs a model (tfjs layers, or ONNX Runtime on the
 * version's ONNX file), how that was decided, and one runner shape that runtime-web's worker,
 * runtime-node's inference workers and the benchmarks all call. Each runner takes core's
 * preprocessed [N, H, W, 3] batch at the model's size (`inputSizeOf(card)`) and gives logits
 * [N, H, W, classes]: tfjs as a tensor on its backend, ONNX Runtime as the values it read back
 * (summarised in plain JS: a round trip through tfjs cost a quarter of the frame in runtime-node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_GEOMETRY, INPUT_CHANNELS, type InputSize, type ModelGeometry } from './contract.js';
import { ContractError } from './errors.js';
import { summarizeLogits, summarizeLogitsData, type Segmentation } from './postprocess.js';

/** What can run a model: tfjs layers, or ONNX Runtime on the version's ONNX file. */
export const ENGINE_KINDS = ['tfjs', 'ort'] as const;
/** What runs a model: `tfjs` (layers model) or `ort` (ONNX Runtime on the version's ONNX file). */
export type EngineKind = (typeof ENGINE_KINDS)[number];
/** An engine option: one engine, or `auto` (what it means: chooseEngine in engine_choice.ts). */
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

/**
 * Mask and statistics of each of `n` frames from a runner's logits (a tensor is disposed). A
 * tensor is sized by its own shape (and checked against `geometry` when one is given); values in
 * memory by `geometry`, which a runtime serving a card reads with `geometryOf(card)`.
 * @param geometry @default edgeseg's own U-Nets' (128×128, 3 classes), for values in memory
 */
export async function summarizeOutput(logits: tf.Tensor4D | Float32Array, n: number, geometry?: ModelGeometry): Promise<Segmentation[]> {
  if (logits instanceof Float32Array) return summarizeLogitsData(logits, n, geometry ?? DEFAULT_GEOMETRY);
  try {
    const [, height, width, classes] = logits.shape;
    if (geometry && (height !== geometry.height || width !== geometry.width || classes !== geometry.classes)) {
      throw new ContractError(`logits are [${logits.shape}], the model's contract says [N, ${geometry.height}, ${geometry.width}, ${geometry.classes}]`);
    }
    return await summarizeLogits(logits);
  } finally {
    logits.dispose();
  }
}

/**
 * Mask and statistics of each frame of a preprocessed batch [N, H, W, 3] (the caller disposes the
 * batch). Masks have the batch's H×W; the class count is `classes` (`classCountOf(card)`), or
 * for a runner that does not know it, what the logits hold per pixel.
 */
export async function segmentBatch(runner: ModelRunner, batch: tf.Tensor4D, classes?: number): Promise<Segmentation[]> {
  const [n, height, width] = batch.shape;
  const logits = await runner.predict(batch);
  if (logits instanceof Float32Array) {
    const perPixel = logits.length / (n * height * width);
    return summarizeLogitsData(logits, n, { height, width, classes: classes ?? perPixel });
  }
  return summarizeOutput(logits, n, classes === undefined ? undefined : { height, width, classes });
}

/**
 * Runs the model on a blank one-frame input of its size (`inputSizeOf(card)`) `runs` times,
 * reading the logits back; returns each run's ms. The first runs compile kernels (shaders, wasm)
 * and allocate: warm-up and calibration.
 * @param size @default edgeseg's own U-Nets' 128×128
 */
export async function timeRuns(runner: ModelRunner, runs: number, size: InputSize = DEFAULT_GEOMETRY): Promise<number[]> {
  const ms: number[] = [];
  const input = tf.zeros([1, size.height, size.width, INPUT_CHANNELS]) as tf.Tensor4D;
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
