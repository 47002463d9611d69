/**
 * The lean worker segmenter of `edgeseg/runtime-web/ort`: ONNX Runtime Web alone, no tfjs, so a page that
 * runs ONNX models loads ONNX Runtime's JavaScript and little else. Frames are read from an
 * OffscreenCanvas and prepared in plain JavaScript with core's tfjs-free twins of the one
 * preprocessing path (bilinear resize with half-pixel centres, × 1/255, the card's
 * normalization); outputs are sampled back over the frame bilinearly before the argmax, as in the
 * full WorkerSegmenter. Backend: ONNX Runtime's webgpu execution provider on a hardware WebGPU adapter,
 * else its wasm one (or the one named), without a calibration.
 */
import { transfer } from 'comlink';
import { softwareAdapterReason } from '../core/adapters.js';
import { normalizationOf, PIXEL_SCALE } from '../core/contract.js';
import type { EngineChoice } from '../core/engine.js';
import { BackendUnavailableError, ConfigError } from '../core/errors.js';
import { normalizeInputData } from '../core/normalize_data.js';
import type { OrtSession } from '../core/ort_runner.js';
import { argmaxData, fitPlan, outputDims, resampleData, resizeBilinearPixels, softmaxData } from '../core/output_geometry.js';
import { orientFrame, readPixels, toBitmap } from './frame_prep.js';
import { loadVerifiedModel, type LoadedModel } from './model_loader.js';
import { samplingWindow, servedGeometry, type ServedGeometry } from './model_geometry.js';
import { resultBuffers, type WorkerSegmenterApi, type WorkerSegmentResult, type FrameMeta, type RawMask } from './protocol.js';
import { WorkerSegmenterBase } from './worker_segmenter_base.js';
import { webOrtSession } from './runner_ort.js';
import type { LoadProgress, ResolvedSegmenterOptions, WebBackend } from './segmenter_api.js';
import type { BackendChoice, SegmenterInfo } from './segmenter_results.js';

async function webgpuAdapter(): Promise<{ name: string | null; software: string | null }> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? ((await gpu.requestAdapter().catch(() => null)) as (GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }) | null) : null;
  if (!adapter) return { name: null, software: 'no WebGPU adapter' };
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unnamed WebGPU adapter';
  return { name, software: softwareAdapterReason(name, Boolean(info?.isFallbackAdapter)) };
}

export class OrtWorkerSegmenter extends WorkerSegmenterBase implements WorkerSegmenterApi {
  private options: ResolvedSegmenterOptions | null = null;
  private loaded: LoadedModel | null = null;
  private session: OrtSession | null = null;
  private backend: WebBackend = 'wasm';
  private info: SegmenterInfo | null = null;
  /** Smoothing's state: the last frame's class probabilities (HWC, model resolution). */
  private previous: Float32Array | null = null;

  async init(options: ResolvedSegmenterOptions, onProgress?: (p: LoadProgress) => void): Promise<SegmenterInfo> {
    const t0 = performance.now();
    this.options = options;
    if (options.engine === 'tfjs' || !options.engines.includes('ort')) throw new ConfigError(`edgeseg/runtime-web/ort runs ONNX Runtime only: ask for engine 'ort' or 'auto' with 'ort' allowed, or import edgeseg/runtime-web for tfjs`);
    if (options.backend === 'webgl') throw new ConfigError(`ONNX Runtime Web has no webgl execution provider here: use backend 'webgpu', 'wasm' or 'auto'`);
    const [loaded, adapter] = await Promise.all([loadVerifiedModel(options.model, options.cache, onProgress), webgpuAdapter()]);
    if (!loaded.onnx) throw new ConfigError(`${typeof options.model === 'string' ? options.model : 'the model'} has no ONNX file; edgeseg/runtime-web/ort needs one (convert with --format both), or import edgeseg/runtime-web for tfjs`);
    this.loaded = loaded;
    this.geometry = servedGeometry(loaded.card);
    const skipped: Record<string, string> = {};
    const order: WebBackend[] = options.backend === 'auto' ? (adapter.software ? ['wasm'] : ['webgpu', 'wasm']) : [options.backend];
    if (options.backend === 'auto' && adapter.software) skipped.webgpu = adapter.software;
    for (const backend of order) {
      try {
        this.session = await webOrtSession(loaded.onnx.bytes, backend, options.wasmPaths, loaded.card.contract);
        this.backend = backend;
        break;
      } catch (err) {
        skipped[backend] = err instanceof Error ? err.message : String(err);
      }
    }
    if (!this.session) throw new BackendUnavailableError(Object.fromEntries(Object.entries(skipped).map(([b, why]) => [`ort-${b}`, why])));
    const g = this.geometry;
    const blank = new Float32Array(g.width * g.height * 3);
    for (let i = 0; i < Math.max(1, options.warmupRuns); i++) await this.session.run(blank, 1);
    const candidate = this.backend === 'webgpu' ? 'ort-webgpu' : 'ort-wasm';
    const reason = options.backend === 'auto' ? (this.backend === 'webgpu' ? 'a hardware WebGPU adapter: ONNX Runtime on webgpu' : `ONNX Runtime on wasm${skipped.webgpu ? ` (webgpu: ${skipped.webgpu})` : ''}`) : 'requested';
    const choice: BackendChoice = { requested: { backend: options.backend, engine: options.engine }, chosen: candidate, reason, table: [], fromCache: false, calibrating: false, calibrationMs: 0 };
    const engine: EngineChoice = { requested: options.engine, chosen: 'ort', provider: this.backend, reason, measuredMs: null, fromCache: false };
    this.info = {
      backend: this.backend,
      engine,
      choice,
      adapters: { webgpu: adapter.name, webgl: null },
      skipped,
      modelVersion: `${loaded.card.name}@${loaded.card.version}`,
      card: loaded.card,
      labels: g.labels,
      backgroundClass: g.background,
      inputSize: { width: g.width, height: g.height },
      bytes: loaded.onnx.bytes.byteLength,
      loadMs: performance.now() - t0,
      fromCache: loaded.fromCache,
    };
    return this.info;
  }

  async getInfo(): Promise<SegmenterInfo> {
    if (!this.info) throw new Error('the segmenter is not initialised');
    return this.info;
  }

  whenCalibrated(): Promise<SegmenterInfo> {
    return this.getInfo();
  }

  /** RGBA pixels of the frame → the model input (NHWC float32), fitted by `fit`; and the frame's window. */
  private prepare(pixels: Uint8ClampedArray, width: number, height: number) {
    const g = this.geometry!;
    const plan = fitPlan(width, height, g.width, g.height, this.options!.fit);
    const resized = resizeBilinearPixels(pixels, width, height, 4, plan.resize.width, plan.resize.height);
    // Letterbox padding stays 0 (black); crop reads the window's middle.
    const unit = new Float32Array(g.width * g.height * 3);
    for (let y = 0; y < g.height; y++) {
      const sy = y - plan.top;
      if (sy < 0 || sy >= plan.resize.height) continue;
      for (let x = 0; x < g.width; x++) {
        const sx = x - plan.left;
        if (sx < 0 || sx >= plan.resize.width) continue;
        const s = (sy * plan.resize.width + sx) * 3;
        const d = (y * g.width + x) * 3;
        // Float32 products, as tfjs' `mul(resized, scalar(1/255))` computes them.
        for (let c = 0; c < 3; c++) unit[d + c] = Math.fround(resized[s + c] * Math.fround(PIXEL_SCALE));
      }
    }
    return { input: normalizeInputData(unit, normalizationOf(this.loaded!.card)), window: plan.window };
  }

  async segment(input: ImageBitmap | VideoFrame, meta: FrameMeta): Promise<WorkerSegmentResult> {
    const timestampMs = meta.timestampMs ?? (input instanceof ImageBitmap ? performance.now() : input.timestamp / 1000);
    const o = this.options!;
    const frame = orientFrame(await toBitmap(input), o.rotation, o.mirror);
    const result = await this.exclusive(async () => {
      if (!this.session || !this.info) {
        frame.close();
        throw new Error('the segmenter is not initialised');
      }
      const g = this.geometry!;
      const { width, height } = frame;
      const t0 = performance.now();
      let prepared;
      try {
        prepared = this.prepare(readPixels(frame), width, height);
      } finally {
        frame.close();
      }
      const t1 = performance.now();
      const logits = (await this.session.run(prepared.input, 1))[this.session.outputName] as Float32Array;
      const t2 = performance.now();
      // Blended in place: this frame's array becomes the next frame's `previous`, and nothing below writes to it.
      const probs = softmaxData(logits, g.classes);
      if (o.smoothing) {
        const r = o.smoothing.combineWithPreviousRatio;
        const prev = this.previous;
        if (prev && prev.length === probs.length) for (let i = 0; i < probs.length; i++) probs[i] = r * prev[i] + (1 - r) * probs[i];
        this.previous = probs;
      }
      const mask = argmaxData(probs, g.classes);
      const counts = new Array<number>(g.classes).fill(0);
      let confidence = 0;
      for (let i = 0; i < mask.length; i++) {
        counts[mask[i]]++;
        confidence += probs[i * g.classes + mask[i]];
      }
      const dims = outputDims(o.outputSize, { width, height }, g);
      let category: RawMask | null = null;
      let planes: RawMask | null = null;
      if (o.outputs.categoryMask || o.outputs.confidenceMasks) {
        // Smoothed probabilities, or the logits themselves, sampled over the frame before the argmax.
        const up = resampleData(o.smoothing ? probs : logits, g.width, g.height, g.classes, samplingWindow(o.outputSize, prepared.window, g), dims.width, dims.height);
        if (o.outputs.categoryMask) category = { width: dims.width, height: dims.height, ids: argmaxData(up, g.classes) };
        if (o.outputs.confidenceMasks) {
          const p = o.smoothing ? up : softmaxData(up, g.classes);
          const n = dims.width * dims.height;
          const out = new Float32Array(n * g.classes);
          for (let i = 0; i < n; i++) for (let c = 0; c < g.classes; c++) out[c * n + i] = p[i * g.classes + c];
          planes = { width: dims.width, height: dims.height, planes: out, classes: g.classes };
        }
      }
      const t3 = performance.now();
      return {
        mask,
        width: g.width,
        height: g.height,
        category,
        confidence: planes,
        labels: g.labels,
        backgroundClass: g.background,
        timestampMs,
        frameMask: null,
        classCoverage: counts.map((k) => k / mask.length),
        meanConfidence: confidence / mask.length,
        timings: { preprocess: t1 - t0, inference: t2 - t1, readback: t3 - t2 },
        backend: this.backend,
        engine: 'ort' as const,
        candidate: this.info.choice.chosen,
        modelVersion: this.info.modelVersion,
        deviceLosses: 0,
        calibrating: false,
      };
    });
    return transfer(result, resultBuffers(result));
  }

  protected dropPrevious(): void {
    this.previous = null;
  }

  /** No tfjs here: ONNX Runtime's own buffers are not counted. */
  async memory(): Promise<{ numTensors: number; numBytes: number }> {
    return { numTensors: 0, numBytes: 0 };
  }

  async dispose(): Promise<void> {
    await this.exclusive(async () => {
      await this.session?.release();
      this.session = null;
      this.previous = null;
      this.loaded = null;
    });
  }
}
