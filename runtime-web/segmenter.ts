/**
 * The public surface of edgeseg/runtime-web: options (with named defaults and one
 * `resolveOptions`), results, and the Segmenter interface. The implementation lives in
 * segmenter_impl.ts; the compute engine in engine.ts (run in a module worker by default).
 */
import { ConfigError, type ModelCard } from '../core/index.js';

/** Compute backends, fastest first. */
export const WEB_BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

/** What runs the model: tfjs layers, or ONNX Runtime Web on the version's ONNX file. */
export const WEB_ENGINES = ['tfjs', 'ort'] as const;
export type WebEngine = (typeof WEB_ENGINES)[number];

/** The ONNX Runtime Web binary (one build serves its wasm and webgpu execution providers). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';

/** Where the wasm binaries (tfjs' and ONNX Runtime's) are served from: a folder URL, or one URL per file. */
export type WasmPaths = string | Partial<Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm' | typeof ORT_WASM_FILE, string>>;

export interface SegmenterOptions {
  /** URL of a model version directory (with model.json, card.json, SHA256SUMS). Required. */
  model: string;
  /**
   * `auto` tries webgpu → webgl → wasm and keeps the first that works. It runs core's
   * preprocessing and the tfjs engine; ONNX Runtime uses its webgpu execution provider on webgpu
   * and its wasm one otherwise. @default 'auto'
   */
  backend?: WebBackend | 'auto';
  /**
   * `tfjs`, `ort` (needs an ONNX file in the version), or `auto`: when the version has both, a
   * short calibration at first load times each engine on this device and keeps the faster; the
   * choice is cached per model version and device (with `cache`). @default 'auto'
   */
  engine?: WebEngine | 'auto';
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

export interface ResolvedSegmenterOptions extends Required<Omit<SegmenterOptions, 'wasmPaths'>> {
  wasmPaths: WasmPaths | null;
}

export const DEFAULT_BACKEND = 'auto';
export const DEFAULT_ENGINE = 'auto';
export const DEFAULT_WORKER = true;
export const DEFAULT_CACHE = true;
export const DEFAULT_WARMUP_RUNS = 1;

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
  for (const key of ['worker', 'cache', 'frameSizeMask'] as const) {
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
  /** `<name>@<version>` of the model that produced the mask. */
  modelVersion: string;
  /** WebGPU device losses recovered from so far (the backend and model are re-created). */
  deviceLosses: number;
}

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

export interface StreamHandle {
  stats(): StreamStats;
  /** Stops taking frames; resolves when the frame in flight is done. */
  stop(): Promise<void>;
}

/** A frame the runtime accepts. */
export type FrameSource = ImageBitmap | VideoFrame | ImageData | HTMLVideoElement | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | Blob;

/** How the engine was chosen. */
export interface EngineChoice {
  requested: WebEngine | 'auto';
  chosen: WebEngine;
  /** ONNX Runtime's execution provider (`wasm`, `webgpu`) when ort runs the model. */
  provider: string | null;
  /** `auto` on a version with both formats: median model time per engine in the calibration, ms. */
  measuredMs: Partial<Record<WebEngine, number>> | null;
  /** The choice came from the cache of an earlier calibration on this device. */
  fromCache: boolean;
  /** `auto`: engines that could not run here, and why. */
  failed?: Partial<Record<WebEngine, string>>;
}

export interface SegmenterInfo {
  backend: WebBackend;
  /** What runs the model, and how that was decided. */
  engine: EngineChoice;
  /** Why every backend tried before the chosen one failed. */
  skipped: Record<string, string>;
  modelVersion: string;
  card: ModelCard;
  /** Weight bytes of the model. */
  bytes: number;
  /** Load + verify + warm-up, ms. */
  loadMs: number;
  /** Whether the weights came from the Cache API. */
  fromCache: boolean;
}

export interface Segmenter {
  readonly info: SegmenterInfo;
  /** Segments one frame. */
  segment(source: FrameSource): Promise<SegmentationResult>;
  /** Segments a live video, newest frame first: at most one frame waits behind the one in flight. */
  segmentStream(video: HTMLVideoElement, onResult: (result: SegmentationResult) => void, onError?: (error: Error) => void): StreamHandle;
  /** `tf.memory()` where the model runs. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /** Releases the worker, GPU resources and tensors. */
  close(): Promise<void>;
}
