/**
 * WorkerSegmenter, the compute side of runtime-web, run inside the module worker (or on the main thread with
 * `worker: false`): loads and verifies the model while it probes the backends, serves frames with
 * the first candidate (backend × engine) that starts, and with `auto` measures the others in the
 * background (calibration.ts) and hands over to the fastest. Frames (ImageBitmap or VideoFrame)
 * go through core's one preprocessing path on the serving candidate's tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { transfer } from 'comlink';
import { BackendUnavailableError, ConfigError, ModelFormatError, type EngineChoice, type ModelContract } from '../core/index.js';
import { resolveBackend, type BackendCandidate } from '../core/backend_resolver.js';
import { normalizationOf } from '../core/contract.js';
import { timeRuns, type ModelRunner } from '../core/engine.js';
import { chooseEngine } from '../core/engine_choice.js';
import type { FrameWindow } from '../core/output_geometry.js';
import { resizeMaskAsync } from '../core/preprocess.js';
import { fitPixels } from '../core/upsample.js';
import { activateBackend, probeBackend, watchDeviceLoss, type BackendProbe } from './backends.js';
import { calibrate, type CalibrationStep } from './calibration.js';
import { choiceKey, readChoice, writeChoice } from './choice_cache.js';
import { orientFrame, toBitmap } from './frame_prep.js';
import { loadVerifiedModel, type LoadedModel } from './model_loader.js';
import { servedGeometry } from './model_geometry.js';
import { resultBuffers, type WorkerSegmenterApi, type WorkerSegmentResult, type FrameMeta } from './protocol.js';
import { frameOutputs } from './frame_outputs.js';
import { WorkerSegmenterBase } from './worker_segmenter_base.js';
import { WEB_BACKENDS, WEB_CANDIDATES, WEB_ENGINES, type LoadProgress, type ResolvedSegmenterOptions, type WasmPaths, type WebBackend, type WebCandidate, type WebEngine } from './segmenter_api.js';
import { type BackendChoice, type CandidateRow, type SegmenterInfo } from './segmenter_results.js';

/**
 * The engines a worker bundles: each entry point's worker passes the runners it imports, so the
 * tfjs-only entry never loads ONNX Runtime's code.
 */
export interface EngineRunners {
  tfjs?: (artifacts: tf.io.ModelArtifacts) => Promise<ModelRunner>;
  ort?: (onnx: Uint8Array, backend: WebBackend, wasmPaths: WasmPaths | null, contract?: ModelContract) => Promise<ModelRunner>;
}

interface Serving {
  candidate: WebCandidate;
  backend: WebBackend;
  engine: WebEngine;
  runner: ModelRunner;
}

/** Longest the calibration waits for the first frame before it starts anyway, ms. */
const FIRST_FRAME_WAIT_MS = 1000;

const partsOf = (c: WebCandidate) => {
  const [engine, backend] = c.split('-') as [WebEngine, WebBackend];
  return { engine, backend };
};

export class WorkerSegmenter extends WorkerSegmenterBase implements WorkerSegmenterApi {
  constructor(private readonly runners: EngineRunners) {
    super();
  }

  private options: ResolvedSegmenterOptions | null = null;
  /** Smoothing's state: the last frame's class probabilities [1, h, w, C] at model resolution. */
  private previous: tf.Tensor4D | null = null;
  private loaded: LoadedModel | null = null;
  private serving: Serving | null = null;
  private info: SegmenterInfo | null = null;
  private calibrated: Promise<SegmenterInfo> | null = null;
  /** Set when the WebGPU device was lost; the next frame re-creates backend and model first. */
  private lost = false;
  private deviceLosses = 0;
  private closed = false;
  /** Resolves once the first frame is segmented: the calibration waits for it (never the other way round). */
  private firstFrame!: Promise<void>;
  private firstFrameDone: () => void = () => {};

  /**
   * Loads a candidate's runner and warms it up. ONNX Runtime's session (its wasm compile, seconds
   * for the 27 MB binary) is created outside the lock, so frames keep flowing meanwhile; a tfjs
   * model is built on its backend, which needs the lock (tfjs has one active backend).
   */
  private async createRunner(candidate: WebCandidate): Promise<ModelRunner> {
    const { engine, backend } = partsOf(candidate);
    const o = this.options!;
    const runner = engine === 'ort' ? await this.runners.ort!(this.loaded!.onnx!.bytes, backend, o.wasmPaths, this.loaded!.card.contract) : null;
    return this.exclusive(async () => {
      let r = runner;
      try {
        await activateBackend(backend, o.wasmPaths);
        r ??= await this.runners.tfjs!(this.loaded!.artifacts!);
        await timeRuns(r, Math.max(1, o.warmupRuns), this.geometry!);
        return r;
      } catch (err) {
        await r?.dispose().catch(() => {});
        throw err;
      }
    });
  }

  private serve(candidate: WebCandidate, runner: ModelRunner): void {
    this.serving = { candidate, ...partsOf(candidate), runner };
    if (this.serving.backend === 'webgpu') watchDeviceLoss(() => (this.lost = true));
  }

  async init(options: ResolvedSegmenterOptions, onProgress?: (p: LoadProgress) => void): Promise<SegmenterInfo> {
    const t0 = performance.now();
    this.options = options;
    this.firstFrame = new Promise((resolve) => (this.firstFrameDone = resolve));
    const requested = { backend: options.backend, engine: options.engine };
    const backends = options.backend === 'auto' ? WEB_BACKENDS : [options.backend];
    // Fetch + verify overlap the probes and the first backend's start-up (wasm compile).
    const loading = loadVerifiedModel(options.model, options.cache, onProgress);
    // wasm is the cheapest candidate's backend whenever it is asked for: its start-up overlaps the probes too.
    const starting = backends.includes('wasm') ? activateBackend('wasm', options.wasmPaths).catch(() => {}) : null;
    const probing = Promise.all(backends.map(async (b) => [b, await probeBackend(b)] as const));
    const loaded = await loading;
    await starting;
    this.loaded = loaded;
    this.geometry = servedGeometry(loaded.card);
    const where = typeof options.model === 'string' ? options.model : 'the model';
    // An engine competes when this page allows it, this entry point bundles it and the version has its file.
    const allowed = (e: WebEngine) => options.engines.includes(e) && this.runners[e] !== undefined;
    const has = { tfjs: loaded.artifacts !== null && allowed('tfjs'), ort: loaded.onnx !== null && allowed('ort') };
    if (options.engine !== 'auto' && !this.runners[options.engine]) throw new ConfigError(`engine '${options.engine}' is not in this entry point: import edgeseg/runtime-web (every engine) or edgeseg/runtime-web/${options.engine}`);
    if (options.engine === 'ort' && !has.ort) throw new ConfigError(`engine 'ort' needs an ONNX model and ${where} has none; convert it with --format both, or use engine 'auto' or 'tfjs'`);
    if (options.engine === 'tfjs' && !has.tfjs) throw new ModelFormatError('MODEL_MALFORMED', `${where} is ONNX only (${loaded.onnx!.file}); use engine 'auto' or 'ort'`);
    if (!has.tfjs && !has.ort) throw new ConfigError(`${where} has no model file for the engines allowed here (${options.engines.filter((e) => this.runners[e]).join(', ') || 'none bundled'}): it has ${[loaded.artifacts && 'tfjs', loaded.onnx && 'ONNX'].filter(Boolean).join(' and ')}`);
    // Which engines compete is core's one rule (chooseEngine); the browser's difference is that it measures them.
    const { candidates: engines } = chooseEngine(options.engine, { tfjs: loaded.artifacts !== null, onnx: loaded.onnx?.file ?? null, available: WEB_ENGINES.filter(allowed), where });
    // The cheapest candidate runs on wasm, which no probe can pass over: it loads while the GPU probes run.
    const cheapest = WEB_CANDIDATES.find((c) => {
      const { engine, backend } = partsOf(c);
      return backend === 'wasm' && backends.includes('wasm') && engines.includes(engine);
    });
    const early = cheapest ? this.createRunner(cheapest).then((runner) => ({ runner }), (error: unknown) => ({ error })) : null;
    const probes = new Map<WebBackend, BackendProbe>(await probing);

    // The candidates asked for, cheapest to load first; those that cannot or should not run are listed with why.
    const passedOver: CandidateRow[] = [];
    const skipped: Record<string, string> = {};
    const candidates: WebCandidate[] = [];
    for (const c of WEB_CANDIDATES) {
      const { engine, backend } = partsOf(c);
      if (!backends.includes(backend) || (options.engine !== 'auto' && options.engine !== engine) || !allowed(engine)) continue;
      const probe = probes.get(backend)!;
      const why = !engines.includes(engine) ? `the version has no ${engine === 'ort' ? 'ONNX' : 'tfjs'} model` : (probe.unsupported ?? (options.backend === 'auto' ? probe.software : null));
      if (why) {
        passedOver.push({ candidate: c, engine, backend, status: 'passed-over', medianMs: null, warmupMs: null, runs: 0, reason: why });
        if (engines.includes(engine)) skipped[backend] = why;
      } else candidates.push(c);
    }
    const adapters = { webgpu: probes.get('webgpu')?.adapter ?? null, webgl: probes.get('webgl')?.adapter ?? null };
    const key = choiceKey(loaded, adapters, requested, options.engines.filter((e) => this.runners[e]));
    const remembered = candidates.length > 1 && options.cache && !options.recalibrate ? await readChoice(key) : null;
    const order = remembered && candidates.includes(remembered.chosen) ? [remembered.chosen] : candidates;

    const activate = async (c: WebCandidate): Promise<ModelRunner> => {
      if (c !== cheapest || !early) return this.createRunner(c);
      const r = await early;
      if ('error' in r) throw r.error;
      return r.runner;
    };
    const table: BackendCandidate<WebCandidate, ModelRunner>[] = order.map((c) => ({ name: c, probe: async () => null, activate: () => activate(c) }));
    // When another candidate serves (a cached choice) or none does, the early runner is not needed.
    const dropEarly = () => void early?.then((r) => ('runner' in r ? r.runner.dispose() : undefined));
    if (order.length === 0) {
      dropEarly();
      throw new BackendUnavailableError(Object.fromEntries(passedOver.map((r) => [r.candidate, r.reason!])));
    }
    const first = await resolveBackend(table).catch((err: Error & { reasons?: Record<string, string> }) => {
      dropEarly();
      // Name every candidate passed over as well as those that failed.
      throw new BackendUnavailableError({ ...Object.fromEntries(passedOver.map((r) => [r.candidate, r.reason!])), ...err.reasons });
    });
    if (first.name !== cheapest) dropEarly();
    this.serve(first.name, first.activated);
    const failedBefore: CandidateRow[] = Object.entries(first.skipped).map(([c, why]) => ({ candidate: c as WebCandidate, ...partsOf(c as WebCandidate), status: 'failed', medianMs: null, warmupMs: null, runs: 0, reason: why }));
    const rest = order.slice(order.indexOf(first.name));
    const choice: BackendChoice = remembered && order.length === 1
      ? { requested, chosen: first.name, reason: `cached: ${remembered.reason}`, table: remembered.table, fromCache: true, calibrating: false, calibrationMs: 0 }
      : rest.length > 1
        ? { requested, chosen: first.name, reason: `serving the first candidate to load while ${rest.length - 1} more are measured`, table: [...passedOver, ...failedBefore], fromCache: false, calibrating: true, calibrationMs: 0 }
        : { requested, chosen: first.name, reason: candidates.length === 1 ? (options.backend === 'auto' || options.engine === 'auto' ? 'the only candidate that can run here' : 'requested') : 'the only candidate that started', table: passedOver.length ? [...passedOver, ...failedBefore] : [], fromCache: false, calibrating: false, calibrationMs: 0 };
    this.info = this.describe(choice, skipped, adapters, performance.now() - t0);
    this.calibrated = choice.calibrating
      ? this.calibrateRest(rest, choice, key).catch((err: Error) => {
          this.info = this.describe({ ...choice, calibrating: false, reason: `calibration failed (${err.message}); kept ${this.serving?.candidate}` }, skipped, adapters, this.info!.loadMs);
          return this.info;
        })
      : Promise.resolve(this.info);
    return this.info;
  }

  /** Measures `order` (the serving candidate first) in the background and hands over to the fastest. */
  private async calibrateRest(order: WebCandidate[], choice: BackendChoice, key: string): Promise<SegmenterInfo> {
    // The first frame goes first; an app that sends none yet does not hold the calibration up for long.
    await Promise.race([this.firstFrame, new Promise((resolve) => setTimeout(resolve, FIRST_FRAME_WAIT_MS))]);
    const t0 = performance.now();
    const steps: CalibrationStep[] = order.map((c) => ({
      candidate: c,
      serving: c === this.serving!.candidate ? this.serving!.runner : null,
      load: () => (this.closed ? Promise.reject(new Error('the segmenter closed')) : this.createRunner(c)),
      time: (runner) =>
        this.exclusive(async () => {
          await activateBackend(partsOf(c).backend, this.options!.wasmPaths);
          return (await timeRuns(runner, 1, this.geometry!))[0];
        }),
    }));
    const { rows, best } = await calibrate(steps, this.options!.calibrationBudgetMs);
    const previous = this.serving!;
    if (this.closed) {
      if (best && best.runner !== previous.runner) await best.runner.dispose();
    } else if (best && best.candidate !== previous.candidate) {
      await this.exclusive(async () => {
        this.serve(best.candidate, best.runner);
        await previous.runner.dispose();
      });
    }
    const measured = rows.filter((r) => r.medianMs !== null).length;
    const winner = rows.find((r) => r.status === 'chosen');
    const reason = winner
      ? `fastest of ${measured} measured: ${winner.medianMs!.toFixed(1)} ms per run${choice.table.some((r) => r.status === 'passed-over') ? `; passed over ${choice.table.filter((r) => r.status === 'passed-over').map((r) => `${r.candidate} (${r.reason})`).join(', ')}` : ''}`
      : `no candidate could be measured; kept ${previous.candidate}`;
    const final: BackendChoice = { ...choice, chosen: this.serving!.candidate, reason, table: [...choice.table, ...rows], calibrating: false, calibrationMs: performance.now() - t0 };
    if (winner && this.options!.cache) await writeChoice(key, { chosen: final.chosen, reason, table: final.table, at: new Date().toISOString() }).catch(() => {});
    this.info = this.describe(final, this.info!.skipped, this.info!.adapters, this.info!.loadMs);
    return this.info;
  }

  private describe(choice: BackendChoice, skipped: Record<string, string>, adapters: SegmenterInfo['adapters'], loadMs: number): SegmenterInfo {
    const s = this.serving!;
    const loaded = this.loaded!;
    const measuredMs: EngineChoice['measuredMs'] = {};
    for (const r of choice.table) if (r.backend === s.backend && r.medianMs !== null) measuredMs[r.engine] = r.medianMs;
    return {
      backend: s.backend,
      engine: { requested: this.options!.engine, chosen: s.engine, provider: s.runner.provider, reason: choice.reason, measuredMs: Object.keys(measuredMs).length ? measuredMs : null, fromCache: choice.fromCache },
      choice,
      adapters,
      skipped,
      modelVersion: `${loaded.card.name}@${loaded.card.version}`,
      card: loaded.card,
      labels: this.geometry!.labels,
      backgroundClass: this.geometry!.background,
      inputSize: { width: this.geometry!.width, height: this.geometry!.height },
      bytes: s.engine === 'ort' ? loaded.onnx!.bytes.byteLength : loaded.bytes,
      loadMs,
      fromCache: loaded.fromCache,
    };
  }

  async getInfo(): Promise<SegmenterInfo> {
    if (!this.info) throw new Error('the segmenter is not initialised');
    return this.info;
  }

  async whenCalibrated(): Promise<SegmenterInfo> {
    if (!this.calibrated) throw new Error('the segmenter is not initialised');
    return this.calibrated;
  }

  /**
   * Re-creates the WebGPU backend after a device loss, and the model on it when tfjs runs it
   * (ONNX Runtime keeps its own session; only preprocessing moves to the new device).
   */
  private async recover(): Promise<void> {
    this.lost = false;
    const s = this.serving!;
    // Smoothing's previous frame lived on the lost device.
    this.previous = null;
    if (s.engine === 'tfjs') {
      try {
        await s.runner.dispose();
      } catch {
        // The lost device's buffers are gone already.
      }
    }
    await activateBackend('webgpu', this.options!.wasmPaths, true);
    const runner = s.engine === 'tfjs' ? await this.runners.tfjs!(this.loaded!.artifacts!) : s.runner;
    if (s.engine === 'tfjs') await timeRuns(runner, this.options!.warmupRuns, this.geometry!);
    this.serve(s.candidate, runner);
    this.deviceLosses++;
  }

  async segment(input: ImageBitmap | VideoFrame, meta: FrameMeta): Promise<WorkerSegmentResult> {
    const timestampMs = meta.timestampMs ?? (input instanceof ImageBitmap ? performance.now() : input.timestamp / 1000);
    const o = this.options!;
    const frame = orientFrame(await toBitmap(input), o.rotation, o.mirror);
    const result = await this.exclusive(async () => {
      if (!this.serving || !this.info) {
        frame.close();
        throw new Error('the segmenter is not initialised');
      }
      if (this.lost) await this.recover();
      const s = this.serving;
      const g = this.geometry!;
      await activateBackend(s.backend, o.wasmPaths);
      const width = frame.width;
      const height = frame.height;
      const t0 = performance.now();
      let batch: tf.Tensor4D;
      let window: FrameWindow;
      try {
        const pixels = tf.browser.fromPixels(frame);
        const fitted = fitPixels(pixels, g.width, g.height, o.fit, normalizationOf(this.info.card));
        pixels.dispose();
        window = fitted.window;
        batch = tf.expandDims(fitted.input, 0);
        fitted.input.dispose();
      } finally {
        frame.close();
      }
      const t1 = performance.now();
      let logits: tf.Tensor4D | Float32Array;
      try {
        logits = await s.runner.predict(batch);
      } finally {
        batch.dispose();
      }
      const t2 = performance.now();
      const out = await this.outputs(logits, window, width, height);
      const t3 = performance.now();
      const frameMask = o.frameSizeMask ? await resizeMaskAsync({ data: out.mask, width: g.width, height: g.height }, width, height) : null;
      return {
        mask: out.mask,
        width: g.width,
        height: g.height,
        category: out.category,
        confidence: out.confidence,
        labels: g.labels,
        backgroundClass: g.background,
        timestampMs,
        frameMask,
        classCoverage: out.classCoverage,
        meanConfidence: out.meanConfidence,
        timings: { preprocess: t1 - t0, inference: t2 - t1, readback: t3 - t2 },
        backend: s.backend,
        engine: s.engine,
        candidate: s.candidate,
        modelVersion: this.info.modelVersion,
        deviceLosses: this.deviceLosses,
        calibrating: this.info.choice.calibrating,
      };
    }).finally(() => this.firstFrameDone());
    return transfer(result, resultBuffers(result));
  }

  /**
   * Logits → the model-resolution mask and statistics, and the masks asked for at the output size:
   * smoothing blends class probabilities with the previous frame's first; the map (logits, or the
   * blended probabilities) is sampled over the frame's window bilinearly, then the argmax is taken.
   * Everything runs on the active tfjs backend; the logits are disposed.
   */
  private async outputs(logits: tf.Tensor4D | Float32Array, window: FrameWindow, frameWidth: number, frameHeight: number) {
    const o = this.options!;
    const g = this.geometry!;
    const raw = logits instanceof Float32Array ? tf.tensor4d(logits, [1, g.height, g.width, g.classes]) : logits;
    let map: tf.Tensor4D = raw;
    let forStats: tf.Tensor4D = raw;
    if (o.smoothing) {
      const ratio = o.smoothing.combineWithPreviousRatio;
      const previous = this.previous;
      map = tf.tidy(() => {
        const p = tf.softmax(raw);
        return previous && previous.shape.every((d, i) => d === p.shape[i]) ? tf.add(tf.mul(previous, ratio), tf.mul(p, 1 - ratio)) : p;
      });
      previous?.dispose();
      this.previous = map;
      // The statistics of the blended probabilities: their log is a logit map with the same softmax.
      forStats = tf.tidy(() => tf.log(tf.maximum(map, 1e-12)));
    }
    try {
      return await frameOutputs(map, forStats, o, g, window, frameWidth, frameHeight);
    } finally {
      raw.dispose();
      if (forStats !== raw) forStats.dispose();
    }
  }

  protected dropPrevious(): void {
    this.previous?.dispose();
    this.previous = null;
  }

  async memory(): Promise<{ numTensors: number; numBytes: number }> {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  async dispose(): Promise<void> {
    this.closed = true;
    await this.calibrated?.catch(() => {});
    await this.exclusive(async () => {
      await this.serving?.runner.dispose();
      this.previous?.dispose();
      this.previous = null;
      this.serving = null;
      this.loaded = null;
    });
  }
}
