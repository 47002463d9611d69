/**
 * The options of edgeseg/runtime-web, with named defaults and one `resolveOptions`. What a
 * segmenter gives back and the Segmenter interface are in segmenter_results.ts; createSegmenter
 * lives in create_segmenter.ts; the compute side in worker_segmenter.ts (run in a module worker by
 * default).
 */
// Single core modules, not core/index.js: the lean ONNX Runtime entry must not pull tfjs in.
import type { EngineChoice, EngineKind } from '../core/engine.js';
import type { ModelCard } from '../core/card.js';
import { ConfigError } from '../core/errors.js';
import { checkOutputSize, FIT_MODES, type FitMode, type OutputSize } from '../core/output_geometry.js';
import { unzipModel } from './model_zip.js';

/** Compute backends, fastest first. */
export const WEB_BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
/** One of WEB_BACKENDS. */
export type WebBackend = (typeof WEB_BACKENDS)[number];

/**
 * What runs the model: tfjs layers, or ONNX Runtime Web on the version's ONNX file (core's engine
 * kinds, spelled here so that this module does not load core/engine.ts and its tfjs).
 */
export const WEB_ENGINES = ['tfjs', 'ort'] as const satisfies readonly EngineKind[];
/** One of WEB_ENGINES. */
export type WebEngine = (typeof WEB_ENGINES)[number];

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

/**
 * A model version's files by name (`SHA256SUMS`, `card.json`, `model.json`, shards, `model.onnx`):
 * bytes, a Blob, or a URL to fetch. Every file is still checked against SHA256SUMS.
 */
export interface ModelFiles {
  files: Record<string, Uint8Array | ArrayBuffer | Blob | string>;
}

/**
 * Where a model comes from: the URL of a version directory, its files by name, or the bytes of a
 * ZIP archive of the directory (files at the top or in one folder; `zip -j v.zip models/x/1/*`).
 */
export type ModelSource = string | ModelFiles | Uint8Array | ArrayBuffer;

/** One step of loading: `loaded` of `total` bytes of `file` (total 0 when the server sends no length). */
export interface LoadProgress {
  file: string;
  loaded: number;
  total: number;
}

/** Which outputs a result carries. */
export interface OutputKinds {
  /** One class id per pixel at `outputSize` (`result.categoryMask`). @default true */
  categoryMask?: boolean;
  /** One probability map per class at `outputSize` (`result.confidenceMasks`, MediaPipe's name). @default false */
  confidenceMasks?: boolean;
}

/** Temporal smoothing of a video's masks. */
export interface SmoothingOptions {
  /**
   * Share of the previous frame's class probabilities kept in each new frame's (0 = none, 0.9 =
   * very steady, slow to follow motion): p = ratio · p_previous + (1 − ratio) · p_now, at model
   * resolution, before the upsampling. `reset()` forgets the previous frame (a scene cut). @default 0.7
   */
  combineWithPreviousRatio?: number;
}

/** Clockwise rotation of frames, degrees: the camera sensor's orientation against the display. */
export type Rotation = 0 | 90 | 180 | 270;

/** Options of createSegmenter; only `model` is required. */
export interface SegmenterOptions {
  /** A version directory's URL (with model.json or model.onnx, card.json, SHA256SUMS), its files, or a ZIP of it. Required. */
  model: ModelSource;
  /**
   * Engines this page allows: `auto` only measures these, and ONNX Runtime's 27 MB binary is
   * fetched only when `ort` is allowed and the version has an ONNX file. The entry points
   * `edgeseg/runtime-web/tfjs` and `edgeseg/runtime-web/ort` bundle one engine each.
   * @default every engine the entry point bundles
   */
  engines?: WebEngine[];
  /**
   * Size of the masks: the frame's (`input`) or `{ width, height }`, both mapped back to the frame
   * whatever the `fit`; or the model's own grid as it saw the fitted frame (`model`, letterbox
   * bands included). @default 'model'
   */
  outputSize?: OutputSize;
  /** Which masks each result carries. @default { categoryMask: true, confidenceMasks: false } */
  outputs?: OutputKinds;
  /** How a frame of another aspect ratio goes into the model; masks are mapped back to the frame either way. @default 'squash' */
  fit?: FitMode;
  /** Mirror frames left to right before segmenting (a front camera shown as a mirror): masks match the mirrored view. @default false */
  mirror?: boolean;
  /** Rotate frames clockwise before segmenting (a sensor mounted sideways): masks are in the rotated frame's coordinates. @default 0 */
  rotation?: Rotation;
  /** Blend each frame's class probabilities with the previous frame's (video), or null for none. @default null */
  smoothing?: SmoothingOptions | null;
  /**
   * Hand ImageBitmaps and VideoFrames passed in over to the worker (transferred, closed after use,
   * no copy). Without it the caller's frame is copied and stays open: the caller closes it. @default false
   */
  transfer?: boolean;
  /** Called as each model file arrives (and once more when it is verified). */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts loading: createSegmenter rejects with the signal's reason and releases the worker. */
  signal?: AbortSignal;
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
  /** Run the model in a module web worker (frames cross by transfer; a caller's own frame is copied first unless `transfer`). @default true */
  worker?: boolean;
  /** Keep verified weights (and the `auto` engine choice) in the Cache API, keyed by sha256. @default true */
  cache?: boolean;
  /**
   * Also return the model-resolution mask resized nearest-neighbour to the frame's size
   * (`result.frameMask`; not in edgeseg/runtime-web/ort). `outputSize: 'input'` gives smooth
   * edges instead. @default false
   */
  frameSizeMask?: boolean;
  /** tfjs wasm binaries; the default is the copies bundled beside the worker. @default bundled */
  wasmPaths?: WasmPaths;
  /** Warm-up runs before `createSegmenter` resolves (compiles shaders). @default 1 */
  warmupRuns?: number;
}

/**
 * SegmenterOptions with every default filled in (resolveOptions): what crosses to the worker, so
 * it holds no function and no signal (the calling thread keeps those).
 */
export interface ResolvedSegmenterOptions extends Required<Omit<SegmenterOptions, 'wasmPaths' | 'model' | 'onProgress' | 'signal' | 'outputs' | 'smoothing' | 'engines'>> {
  /** A directory URL (ending in `/`), or files by name (a ZIP already unpacked). */
  model: string | ModelFiles;
  engines: WebEngine[];
  outputs: Required<OutputKinds>;
  smoothing: Required<SmoothingOptions> | null;
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
/** SegmenterOptions.outputSize when not given. */
export const DEFAULT_OUTPUT_SIZE: OutputSize = 'model';
/** SegmenterOptions.fit when not given. */
export const DEFAULT_FIT: FitMode = 'squash';
/** SmoothingOptions.combineWithPreviousRatio when not given. */
export const DEFAULT_COMBINE_WITH_PREVIOUS_RATIO = 0.7;

function isModelSource(m: unknown): boolean {
  if (typeof m === 'string') return m.length > 0;
  if (m instanceof Uint8Array || m instanceof ArrayBuffer) return m.byteLength > 0;
  const files = (m as ModelFiles | null)?.files;
  return Boolean(files) && typeof files === 'object' && Object.keys(files).length > 0;
}

/** Fills defaults and checks every option, naming the one at fault and the fix. */
export function resolveOptions(options: SegmenterOptions): ResolvedSegmenterOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError("'options' must be an object, e.g. { model: '/models/unet-small/1/' }");
  if (!isModelSource(options.model)) throw new ConfigError("'model' must be the URL of a model version directory (e.g. '/models/unet-small/1/'), { files: { name: bytes | Blob | URL } }, or the bytes of a ZIP of the directory");
  const backend = options.backend ?? DEFAULT_BACKEND;
  if (backend !== 'auto' && !WEB_BACKENDS.includes(backend)) throw new ConfigError(`'backend' must be 'auto' or one of ${WEB_BACKENDS.join(', ')}, got '${backend}'`);
  const engine = options.engine ?? DEFAULT_ENGINE;
  if (engine !== 'auto' && !WEB_ENGINES.includes(engine)) throw new ConfigError(`'engine' must be 'auto' or one of ${WEB_ENGINES.join(', ')}, got '${engine}'`);
  const warmupRuns = options.warmupRuns ?? DEFAULT_WARMUP_RUNS;
  if (!Number.isInteger(warmupRuns) || warmupRuns < 0 || warmupRuns > 10) throw new ConfigError(`'warmupRuns' must be an integer 0–10, got ${warmupRuns}`);
  const calibrationBudgetMs = options.calibrationBudgetMs ?? DEFAULT_CALIBRATION_BUDGET_MS;
  if (!(Number.isFinite(calibrationBudgetMs) && calibrationBudgetMs >= 0)) throw new ConfigError(`'calibrationBudgetMs' must be a number of ms ≥ 0, got ${calibrationBudgetMs}`);
  const engines = options.engines ?? [...WEB_ENGINES];
  if (!Array.isArray(engines) || engines.length === 0 || engines.some((e) => !WEB_ENGINES.includes(e))) throw new ConfigError(`'engines' must be a non-empty list of ${WEB_ENGINES.join(', ')}, got ${JSON.stringify(options.engines)}`);
  if (engine !== 'auto' && !engines.includes(engine)) throw new ConfigError(`'engine' is '${engine}' but 'engines' allows only ${engines.join(', ')}: allow it, or ask for one of those`);
  const fit = options.fit ?? DEFAULT_FIT;
  if (!FIT_MODES.includes(fit)) throw new ConfigError(`'fit' must be one of ${FIT_MODES.join(', ')}, got '${fit}'`);
  const rotation = options.rotation ?? 0;
  if (![0, 90, 180, 270].includes(rotation)) throw new ConfigError(`'rotation' must be 0, 90, 180 or 270 (degrees clockwise), got ${rotation}`);
  const outputs = { categoryMask: options.outputs?.categoryMask ?? true, confidenceMasks: options.outputs?.confidenceMasks ?? false };
  for (const [k, v] of Object.entries(outputs)) if (typeof v !== 'boolean') throw new ConfigError(`'outputs.${k}' must be a boolean, got ${JSON.stringify(v)}`);
  let smoothing: Required<SmoothingOptions> | null = null;
  if (options.smoothing != null) {
    const ratio = options.smoothing.combineWithPreviousRatio ?? DEFAULT_COMBINE_WITH_PREVIOUS_RATIO;
    if (!(typeof ratio === 'number' && ratio >= 0 && ratio < 1)) throw new ConfigError(`'smoothing.combineWithPreviousRatio' must be a number in [0, 1), got ${ratio}`);
    smoothing = { combineWithPreviousRatio: ratio };
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError("'onProgress' must be a function ({ file, loaded, total }) => void");
  if (options.signal !== undefined && !(typeof AbortSignal !== 'undefined' && options.signal instanceof AbortSignal)) throw new ConfigError("'signal' must be an AbortSignal (new AbortController().signal)");
  for (const key of ['worker', 'cache', 'frameSizeMask', 'recalibrate', 'mirror', 'transfer'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new ConfigError(`'${key}' must be a boolean, got ${JSON.stringify(options[key])}`);
  }
  const m = options.model;
  return {
    model: typeof m === 'string' ? (m.endsWith('/') ? m : `${m}/`) : m instanceof Uint8Array || m instanceof ArrayBuffer ? { files: unzipModel(m) } : m,
    backend,
    engine,
    engines,
    outputSize: checkOutputSize(options.outputSize ?? DEFAULT_OUTPUT_SIZE),
    outputs,
    fit,
    mirror: options.mirror ?? false,
    rotation,
    smoothing,
    transfer: options.transfer ?? false,
    worker: options.worker ?? DEFAULT_WORKER,
    cache: options.cache ?? DEFAULT_CACHE,
    frameSizeMask: options.frameSizeMask ?? false,
    wasmPaths: options.wasmPaths ?? null,
    warmupRuns,
    calibrationBudgetMs,
    recalibrate: options.recalibrate ?? false,
  };
}
