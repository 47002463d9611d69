/**
 * The public surface of edgeseg/runtime-web: options (with named defaults and one
 * `resolveOptions`), results, and the Segmenter interface. The implementation lives in
 * segmenter_impl.ts; the compute engine in engine.ts (run in a module worker by default).
 */
import { ConfigError, ENGINE_KINDS, type EngineChoice, type EngineKind, type ModelCard } from '../core/index.js';

/** Compute backends, fastest first. */
export const WEB_BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
/** One of WEB_BACKENDS. */
export type WebBackend = (typeof WEB_BACKENDS)[number];

/** What runs the model: tfjs layers, or ONNX Runtime Web on the version's ONNX file (core's engine kinds). */
export const WEB_ENGINES = ENGINE_KINDS;
/** One of WEB_ENGINES. */
export type WebEngine = EngineKind;

/**
 * Every backend × engine pair `auto` can choose, cheapest to load first: the first that works
 * serves the first frames while the others are measured. ONNX Runtime runs its webgpu execution
 * provider on the webgpu backend and its wasm one on wasm; tfjs' backend preprocesses for both.
 */
export const WEB_CANDIDATES = ['tfjs-wasm', 'ort-wasm', 'tfjs-webgl', 'tfjs-webgpu', 'ort-webgpu'] as const;
/** One of WEB_CANDIDATES. */
export type WebCandidate = (typeof WEB_CANDIDATES)[number];

/** The ONNX Runtime Web binary (one build serves its wasm and webgpu execution providers). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';

/** Where the wasm binaries (tfjs' and ONNX Runtime's) are served from: a folder URL, or one URL per file. */
export type WasmPaths = string | Partial<Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm' | typeof ORT_WASM_FILE, string>>;

/** Options of createSegmenter; only `model` is required. */
export interface SegmenterOptions {
  /** URL of a model version directory (with model.json, card.json, SHA256SUMS). Required. */
  model: string;
  /**
   * `auto` decides by measurement: software adapters (SwiftShader, llvmpipe, lavapipe, Microsoft
   * Basic Render, fallback adapters) are passed over with the reason; the cheapest remaining
   * candidate (see WEB_CANDIDATES) serves the first frames at once while the others are timed on a
   * short calibration bounded by `calibrationBudgetMs`, and the fastest takes over. The choice and
   * the measured table are cached per browser, adapter and model version (with `cache`). A named
   * backend is used as is, software or not. Preprocessing runs on the chosen tfjs backend.
   * @default 'auto'
   */
  backend?: WebBackend | 'auto';
  /**
   * `tfjs`, `ort` (needs an ONNX file in the version: its webgpu execution provider on the webgpu
   * backend, wasm otherwise), or `auto`: measured with the backends. @default 'auto'
   */
  engine?: WebEngine | 'auto';
  /** Longest the `auto` calibration may take, ms; candidates it does not reach are listed as not measured. @default 8000 */
  calibrationBudgetMs?: number;
  /** Measure again, ignoring (and then replacing) a cached `auto` choice. @default false */
  recalibrate?: boolean;
  /** Run the model in a module web worker (frames are transferred, never copied). @default true */
  worker?: boolean;
  /** Keep verified weights (and the `auto` engine choice) in the Cache API, keyed by sha256. @default true */
  cache?: boolean;
  /** Return the mask at the frame's size as well as at model resolution. @default false */
  frameSizeMask?: boolean;
  /** tfjs wasm binaries; the default is the copies bundled beside the worker. @default bundled */
  wasmPaths?: WasmPaths;
  /** Warm-up runs before `createSegmenter` resolves (compiles shaders). @default 1 */
  warmupRuns?: number;
}

/** SegmenterOptions with every default filled in (resolveOptions). */
export interface ResolvedSegmenterOptions extends Required<Omit<SegmenterOptions, 'wasmPaths'>> {
  wasmPaths: WasmPaths | null;
}

/** SegmenterOptions.backend when not given. */
export const DEFAULT_BACKEND = 'auto';
/** SegmenterOptions.engine when not given. */
export const DEFAULT_ENGINE = 'auto';
/** SegmenterOptions.worker when not given. */
export const DEFAULT_WORKER = true;
/** SegmenterOptions.cache when not given. */
export const DEFAULT_CACHE = true;
/** SegmenterOptions.warmupRuns when not given. */
export const DEFAULT_WARMUP_RUNS = 1;
/** Longest the `auto` choice spends measuring candidates at first load. */
export const DEFAULT_CALIBRATION_BUDGET_MS = 8000;

/** Fills defaults and checks every option, naming the one at fault and the fix. */
export function resolveOptions(options: SegmenterOptions): ResolvedSegmenterOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError("'options' must be an object, e.g. { model: '/models/unet-small/1/' }");
  if (typeof options.model !== 'string' || !options.model) throw new ConfigError("'model' must be the URL of a model version directory, e.g. '/models/unet-small/1/'");
  const backend = options.backend ?? DEFAULT_BACKEND;
  if (backend !== 'auto' && !WEB_BACKENDS.includes(backend)) throw new ConfigError(`'backend' must be 'auto' or one of ${WEB_BACKENDS.join(', ')}, got '${backend}'`);
  const engine = options.engine ?? DEFAULT_ENGINE;
  if (engine !== 'auto' && !WEB_ENGINES.includes(engine)) throw new ConfigError(`'engine' must be 'auto' or one of ${WEB_ENGINES.join(', ')}, got '${engine}'`);
  const warmupRuns = options.warmupRuns ?? DEFAULT_WARMUP_RUNS;
  if (!Number.isInteger(warmupRuns) || warmupRuns < 0 || warmupRuns > 10) throw new ConfigError(`'warmupRuns' must be an integer 0–10, got ${warmupRuns}`);
  const calibrationBudgetMs = options.calibrationBudgetMs ?? DEFAULT_CALIBRATION_BUDGET_MS;
  if (!(Number.isFinite(calibrationBudgetMs) && calibrationBudgetMs >= 0)) throw new ConfigError(`'calibrationBudgetMs' must be a number of ms ≥ 0, got ${calibrationBudgetMs}`);
  for (const key of ['worker', 'cache', 'frameSizeMask', 'recalibrate'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new ConfigError(`'${key}' must be a boolean, got ${JSON.stringify(options[key])}`);
  }
  return {
    model: options.model.endsWith('/') ? options.model : `${options.model}/`,
    backend,
    engine,
    worker: options.worker ?? DEFAULT_WORKER,
    cache: options.cache ?? DEFAULT_CACHE,
    frameSizeMask: options.frameSizeMask ?? false,
    wasmPaths: options.wasmPaths ?? null,
    warmupRuns,
    calibrationBudgetMs,
    recalibrate: options.recalibrate ?? false,
  };
}

/** Milliseconds spent per stage of one frame. */
export interface SegmentationTimings {
  /** Pixels to the model input tensor (resize, normalise) on the backend. */
  preprocess: number;
  /** Model execution (dispatch on GPU backends). */
  inference: number;
  /** Waiting for and reading back the mask and statistics. */
  readback: number;
  /** Frame handed over to the result back on the calling thread. */
  total: number;
}

/** The mask of one frame with its statistics and timings. */
export interface SegmentationResult {
  /** Class ids at model resolution, row-major. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Class ids at the frame's size (when `frameSizeMask`). */
  frameMask: { data: Uint8Array; width: number; height: number } | null;
  /** Fraction of pixels per class id; sums to 1. */
  classCoverage: number[];
  /** Mean softmax probability of the winning class, 0–1. */
  meanConfidence: number;
  timings: SegmentationTimings;
  backend: WebBackend;
  /** What ran the model. */
  engine: WebEngine;
  /** Backend × engine that produced this mask. */
  candidate: WebCandidate;
  /** `<name>@<version>` of the model that produced the mask. */
  modelVersion: string;
  /** WebGPU device losses recovered from so far (the backend and model are re-created). */
  deviceLosses: number;
}

/** Counters of a segmentStream run. */
export interface StreamStats {
  /** Frames segmented. */
  frames: number;
  /** Frames replaced by a newer one while waiting (latest frame wins). */
  dropped: number;
  /** Most frames ever waiting behind the one in flight (1 by construction). */
  maxWaiting: number;
  /** Main-thread time per segmented frame: capture dispatch and the result callback, ms. */
  mainThreadMsPerFrame: number;
}

/** A running segmentStream. */
export interface StreamHandle {
  stats(): StreamStats;
  /** Stops taking frames; resolves when the frame in flight is done. */
  stop(): Promise<void>;
}

/** A frame the runtime accepts. */
export type FrameSource = ImageBitmap | VideoFrame | ImageData | HTMLVideoElement | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | Blob;

/** One row of the `auto` calibration table. */
export interface CandidateRow {
  candidate: WebCandidate;
  backend: WebBackend;
  engine: WebEngine;
  /**
   * `chosen`; `measured` (slower than the chosen one); `cut` (stopped once clearly slower than the
   * best so far); `passed-over` (unsupported or a software adapter, see `reason`); `failed` (could
   * not load); `not-measured` (the time budget ran out first).
   */
  status: 'chosen' | 'measured' | 'cut' | 'passed-over' | 'failed' | 'not-measured';
  /** Median model time of the timed runs, ms (logits read back). */
  medianMs: number | null;
  /** Load + first run (compiles shaders or wasm), ms. */
  warmupMs: number | null;
  /** Timed runs after the warm-up. */
  runs: number;
  reason?: string;
}

/** How the backend and engine were chosen. */
export interface BackendChoice {
  requested: { backend: WebBackend | 'auto'; engine: WebEngine | 'auto' };
  chosen: WebCandidate;
  /** One line: why this candidate (the measurement, the cache, or the option). */
  reason: string;
  /** Every candidate considered, in the order tried. Empty when nothing was measured (one candidate). */
  table: CandidateRow[];
  /** The choice came from the cache of an earlier calibration in this browser, on this adapter, for this model version. */
  fromCache: boolean;
  /** The calibration is still running: a faster candidate may take over. `whenCalibrated()` resolves when it ends. */
  calibrating: boolean;
  /** Wall time of the calibration so far, ms. */
  calibrationMs: number;
}

/** What a segmenter loaded and runs on. */
export interface SegmenterInfo {
  backend: WebBackend;
  /** What runs the model, and how that was decided (core's record, as runtime-node reports it). */
  engine: EngineChoice;
  /** Backend × engine: the candidate serving now, why, and the measured table. */
  choice: BackendChoice;
  /** The WebGPU adapter and WebGL renderer this browser offers (part of the choice's cache key). */
  adapters: { webgpu: string | null; webgl: string | null };
  /** Why every backend tried before the chosen one failed. */
  skipped: Record<string, string>;
  modelVersion: string;
  card: ModelCard;
  /** Weight bytes of the model. */
  bytes: number;
  /** Load + verify + warm-up of the first candidate to serve, ms. */
  loadMs: number;
  /** Whether the weights came from the Cache API. */
  fromCache: boolean;
}

/** A loaded, verified, warm model in the browser; see createSegmenter. */
export interface Segmenter {
  /** Kept current: it changes when the `auto` calibration hands over to a faster candidate. */
  readonly info: SegmenterInfo;
  /** Resolves with the final info once the `auto` calibration is over (at once when there is none). */
  whenCalibrated(): Promise<SegmenterInfo>;
  /** Segments one frame. */
  segment(source: FrameSource): Promise<SegmentationResult>;
  /** Segments a live video, newest frame first: at most one frame waits behind the one in flight. */
  segmentStream(video: HTMLVideoElement, onResult: (result: SegmentationResult) => void, onError?: (error: Error) => void): StreamHandle;
  /** `tf.memory()` where the model runs. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /** Releases the worker, GPU resources and tensors. */
  close(): Promise<void>;
}
