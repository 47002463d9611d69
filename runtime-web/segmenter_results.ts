/**
 * What edgeseg/runtime-web gives back: a frame's result (masks, statistics, timings), the mask
 * objects, stream handles and counters, the backend × engine choice and its measured table, and
 * the Segmenter interface. The options are in segmenter_api.ts.
 */
import type { EngineChoice } from '../core/engine.js';
import type { ModelCard } from '../core/card.js';
import type { WebBackend, WebCandidate, WebEngine } from './segmenter_api.js';

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

/**
 * One output mask of a frame (MediaPipe's MPMask): class ids (`category`) or one class's
 * probability (`confidence`), width×height, row-major. Its pixels live on the calling thread;
 * `close()` drops them (and any bitmap made), after which the getters throw.
 */
export interface SegmentationMask {
  readonly kind: 'category' | 'confidence';
  /** For a confidence mask, the class it gives the probability of; null for the category mask. */
  readonly classIndex: number | null;
  readonly width: number;
  readonly height: number;
  /** Class ids (category), or probabilities × 255 rounded (confidence). */
  toUint8Array(): Uint8Array;
  /** Probabilities 0–1 (confidence), or class ids as floats (category). */
  toFloat32Array(): Float32Array;
  /**
   * The mask as a picture, drawn in the worker and transferred: classes in their label colours
   * with the background transparent (category), or white with the probability as alpha
   * (confidence). The caller owns the bitmap (close it when done).
   */
  toImageBitmap(): Promise<ImageBitmap>;
  close(): void;
}

/** The mask of one frame with its statistics and timings. */
export interface SegmentationResult {
  /** Class ids at model resolution, row-major. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Class ids at `outputSize`, mapped back to the frame (`fit`, `mirror`, `rotation`); null unless `outputs.categoryMask`. */
  categoryMask: SegmentationMask | null;
  /** One probability mask per class (in the card's label order) at `outputSize`; null unless `outputs.confidenceMasks`. */
  confidenceMasks: SegmentationMask[] | null;
  /** The card's class labels, index = class id. */
  labels: readonly string[];
  /** The class labelled `background` (drawn transparent), or null when the card names none. */
  backgroundClass: number | null;
  /**
   * The frame's timestamp, ms: a VideoFrame's own (its µs ÷ 1000), a video element's media time,
   * or what the caller passed to `segment(frame, { timestampMs })`; else when it was taken.
   */
  timestampMs: number;
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
  /** The `auto` calibration was still running (its runs took turns with this frame). */
  calibrating: boolean;
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

/** A live video segmentStream reads: a video element, a camera's track, or a stream of VideoFrames. */
export type VideoSource = HTMLVideoElement | MediaStreamTrack | ReadableStream<VideoFrame>;

/** Per-call options of `segment`. */
export interface SegmentOptions {
  /** The frame's timestamp, ms, carried into the result. @default the VideoFrame's own, else now */
  timestampMs?: number;
}

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
  /** The card's class labels, index = class id. */
  labels: readonly string[];
  /** The class labelled `background` (drawn transparent), or null when the card names none. */
  backgroundClass: number | null;
  /** The model's input size, px (from the card's contract). */
  inputSize: { width: number; height: number };
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
  /**
   * Segments one frame. An ImageBitmap or VideoFrame stays the caller's (copied, left open) unless
   * `transfer: true`.
   */
  segment(source: FrameSource, options?: SegmentOptions): Promise<SegmentationResult>;
  /**
   * Segments a live video, newest frame first: at most one frame waits behind the one in flight.
   * A video element is read on this thread; a MediaStreamTrack or a ReadableStream of VideoFrames
   * is read inside the worker where the browser can move it there (else here, frame by frame).
   */
  segmentStream(source: VideoSource, onResult: (result: SegmentationResult) => void, onError?: (error: Error) => void): StreamHandle;
  /** Forgets the previous frame of `smoothing` (a scene cut, a new video). */
  reset(): Promise<void>;
  /** `tf.memory()` where the model runs. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /** Releases the worker, GPU resources and tensors. */
  close(): Promise<void>;
}
