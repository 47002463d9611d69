/**
 * The compute side of runtime-web, run inside the module worker (or on the main thread with
 * `worker: false`): picks a backend, loads and verifies the model, chooses the engine that runs
 * it (tfjs or ONNX Runtime Web), warms it up, and segments ImageBitmaps with core's one
 * preprocessing path on the tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { INPUT_SIZE, preprocessPixels, resizeMaskAsync, summarizeLogits, summarizeLogitsData, type Segmentation } from '../core/index.js';
import { selectWebBackend, watchDeviceLoss } from './backends.js';
import { chooseEngine } from './engine_choice.js';
import { loadVerifiedModel } from './model_loader.js';
import type { EngineApi, EngineResult } from './protocol.js';
import { tfjsRunner, timeRuns, type ModelRunner } from './runners.js';
import type { ResolvedSegmenterOptions, SegmenterInfo } from './segmenter.js';

export class Engine implements EngineApi {
  private options: ResolvedSegmenterOptions | null = null;
  private runner: ModelRunner | null = null;
  private info: SegmenterInfo | null = null;
  private artifacts: tf.io.ModelArtifacts | null = null;
  /** Set when the WebGPU device was lost; the next frame re-creates backend and model first. */
  private lost = false;
  private deviceLosses = 0;

  async init(options: ResolvedSegmenterOptions): Promise<SegmenterInfo> {
    const t0 = performance.now();
    this.options = options;
    const { backend, skipped } = await selectWebBackend(options.backend, options.wasmPaths);
    const loaded = await loadVerifiedModel(options.model, options.cache);
    this.artifacts = loaded.artifacts;
    const { runner, choice } = await chooseEngine(loaded, backend, options);
    this.runner = runner;
    if (backend === 'webgpu') watchDeviceLoss(() => (this.lost = true));
    this.info = {
      backend,
      engine: choice,
      skipped,
      modelVersion: `${loaded.card.name}@${loaded.card.version}`,
      card: loaded.card,
      bytes: runner.engine === 'ort' ? loaded.onnx!.bytes.byteLength : loaded.bytes,
      loadMs: performance.now() - t0,
      fromCache: loaded.fromCache,
    };
    return this.info;
  }

  /**
   * Re-creates the WebGPU backend after a device loss, and the model on it when tfjs runs it
   * (ONNX Runtime keeps its own session; only preprocessing moves to the new device).
   */
  private async recover(): Promise<void> {
    this.lost = false;
    const tfjs = this.runner?.engine === 'tfjs';
    if (tfjs) {
      try {
        await this.runner?.dispose();
      } catch {
        // The lost device's buffers are gone already.
      }
    }
    const { backend } = await selectWebBackend('webgpu', this.options!.wasmPaths, true);
    if (tfjs) {
      this.runner = await tfjsRunner(this.artifacts!);
      await timeRuns(this.runner, this.options!.warmupRuns);
    }
    if (backend === 'webgpu') watchDeviceLoss(() => (this.lost = true));
    this.deviceLosses++;
  }

  async segment(frame: ImageBitmap): Promise<EngineResult> {
    if (!this.runner || !this.info) throw new Error('the engine is not initialised');
    if (this.lost) await this.recover();
    const width = frame.width;
    const height = frame.height;
    const t0 = performance.now();
    let input: tf.Tensor4D;
    try {
      input = tf.tidy(() => tf.expandDims(preprocessPixels(tf.browser.fromPixels(frame)), 0) as tf.Tensor4D);
    } finally {
      frame.close();
    }
    const t1 = performance.now();
    let logits: tf.Tensor4D | Float32Array;
    try {
      logits = await this.runner.predict(input);
    } finally {
      input.dispose();
    }
    const t2 = performance.now();
    let seg: Segmentation;
    if (logits instanceof Float32Array) {
      [seg] = summarizeLogitsData(logits, 1);
    } else {
      [seg] = await summarizeLogits(logits);
      logits.dispose();
    }
    const t3 = performance.now();
    const frameMask = this.options!.frameSizeMask ? await resizeMaskAsync({ data: seg.mask, width: INPUT_SIZE, height: INPUT_SIZE }, width, height) : null;
    return {
      mask: seg.mask,
      width: INPUT_SIZE,
      height: INPUT_SIZE,
      frameMask,
      classCoverage: seg.classCoverage,
      meanConfidence: seg.meanConfidence,
      timings: { preprocess: t1 - t0, inference: t2 - t1, readback: t3 - t2 },
      backend: this.info.backend,
      engine: this.runner.engine,
      modelVersion: this.info.modelVersion,
      deviceLosses: this.deviceLosses,
    };
  }

  async memory(): Promise<{ numTensors: number; numBytes: number }> {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  async dispose(): Promise<void> {
    await this.runner?.dispose();
    this.runner = null;
    this.artifacts = null;
  }
}
