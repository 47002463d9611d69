/**
 * The compute side of runtime-web, run inside the module worker (or on the main thread with
 * `worker: false`): picks a backend, loads and verifies the model, warms it up, and segments
 * ImageBitmaps with core's one preprocessing path on the GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { INPUT_SIZE, preprocessPixels, resizeMaskAsync, summarizeLogits } from '../core/index.js';
import { selectWebBackend, watchDeviceLoss } from './backends.js';
import { loadVerifiedModel } from './model_loader.js';
import type { EngineApi, EngineResult } from './protocol.js';
import type { ResolvedSegmenterOptions, SegmenterInfo, WebBackend } from './segmenter.js';

export class Engine implements EngineApi {
  private options: ResolvedSegmenterOptions | null = null;
  private model: LayersModel | null = null;
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
    await this.loadModel(backend);
    this.info = {
      backend,
      skipped,
      modelVersion: `${loaded.card.name}@${loaded.card.version}`,
      card: loaded.card,
      bytes: loaded.bytes,
      loadMs: performance.now() - t0,
      fromCache: loaded.fromCache,
    };
    return this.info;
  }

  private async loadModel(backend: WebBackend): Promise<void> {
    this.model = await loadLayersModel(tf.io.fromMemory(this.artifacts!));
    for (let i = 0; i < this.options!.warmupRuns; i++) {
      const y = tf.tidy(() => this.model!.predict(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3])) as tf.Tensor);
      await y.data();
      y.dispose();
    }
    if (backend === 'webgpu') watchDeviceLoss(() => (this.lost = true));
  }

  /** Re-creates the WebGPU backend and the model on it after a device loss. */
  private async recover(): Promise<void> {
    this.lost = false;
    try {
      this.model?.dispose();
    } catch {
      // The lost device's buffers are gone already.
    }
    const { backend } = await selectWebBackend('webgpu', this.options!.wasmPaths, true);
    await this.loadModel(backend);
    this.deviceLosses++;
  }

  async segment(frame: ImageBitmap): Promise<EngineResult> {
    if (!this.model || !this.info) throw new Error('the engine is not initialised');
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
    const logits = tf.tidy(() => this.model!.predict(input) as tf.Tensor4D);
    input.dispose();
    const t2 = performance.now();
    const [seg] = await summarizeLogits(logits);
    logits.dispose();
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
      modelVersion: this.info.modelVersion,
      deviceLosses: this.deviceLosses,
    };
  }

  async memory(): Promise<{ numTensors: number; numBytes: number }> {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
    this.model = null;
    this.artifacts = null;
  }
}
