/**
 * The API the worker exposes over comlink, and how errors cross the thread boundary: core's error
 * codec keeps name, `code`, `retriable`, stack and named fields (comlink's default keeps only the message).
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { deserializeError, serializeError, type SerializedError } from '../core/error_codec.js';
import type { LoadProgress, ResolvedSegmenterOptions } from './segmenter_api.js';
import type { SegmentationResult, SegmenterInfo } from './segmenter_results.js';

/** A mask's pixels as they cross from the worker (their buffer transferred). */
export interface RawMask {
  width: number;
  height: number;
  /** Class ids (category). */
  ids?: Uint8Array;
  /** One probability plane per class, class after class (confidence). */
  planes?: Float32Array;
  classes?: number;
}

/** What the worker segmenter returns per frame; the calling thread wraps the masks and adds the end-to-end time. */
export type WorkerSegmentResult = Omit<SegmentationResult, 'timings' | 'categoryMask' | 'confidenceMasks'> & {
  timings: Omit<SegmentationResult['timings'], 'total'>;
  category: RawMask | null;
  confidence: RawMask | null;
};

/** Per-frame data besides the pixels. */
export interface FrameMeta {
  /** The frame's timestamp, ms; null: the VideoFrame's own, else now. */
  timestampMs: number | null;
}

/** What a stream read inside the worker reports per frame. */
export interface PumpReport {
  result: WorkerSegmentResult;
  /** Frames replaced by a newer one while one was in flight, so far. */
  dropped: number;
}

export interface WorkerSegmenterApi {
  /** `onProgress` is a comlink proxy (or the function itself without a worker). */
  init(options: ResolvedSegmenterOptions, onProgress?: (p: LoadProgress) => void): Promise<SegmenterInfo>;
  /** Segments an ImageBitmap or VideoFrame (transferred; the worker segmenter closes it). */
  segment(frame: ImageBitmap | VideoFrame, meta: FrameMeta): Promise<WorkerSegmentResult>;
  /**
   * Reads VideoFrames from `stream` (transferred) until it ends or `stopPump(id)`, latest frame
   * first: a frame arriving while one is in flight replaces the one waiting (closed, counted as
   * dropped). Resolves when the reading ends.
   */
  pump(id: number, stream: ReadableStream<VideoFrame>, onReport: (r: PumpReport) => void | Promise<void>, onError: (e: Error) => void): Promise<void>;
  stopPump(id: number): Promise<void>;
  /** Draws a mask as a picture (labels' colours, or probability as alpha) and transfers it. */
  maskBitmap(mask: RawMask, classIndex: number | null): Promise<ImageBitmap>;
  /** Forgets smoothing's previous frame. */
  reset(): Promise<void>;
  /** The current info: it changes when the `auto` calibration hands over. */
  getInfo(): Promise<SegmenterInfo>;
  /** The info once the `auto` calibration is over. */
  whenCalibrated(): Promise<SegmenterInfo>;
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  dispose(): Promise<void>;
}

const throwHandler: TransferHandler<{ value: unknown }, SerializedError> = {
  // comlink wraps what a call throws in an object marked with its private `Comlink.thrown` symbol.
  canHandle: (v): v is { value: unknown } => typeof v === 'object' && v !== null && Object.getOwnPropertySymbols(v).some((s) => s.description === 'Comlink.thrown'),
  serialize: ({ value }) => [serializeError(value), []],
  deserialize(s) {
    throw deserializeError(s);
  },
};

/** Installs the error handler; both sides of the worker call this once. */
export function installErrorTransfer(): void {
  transferHandlers.set('throw', throwHandler as TransferHandler<unknown, unknown>);
}

/** The buffers of a result's masks, to transfer instead of copying. */
export function resultBuffers(r: WorkerSegmentResult): Transferable[] {
  const out: Transferable[] = [r.mask.buffer as ArrayBuffer];
  for (const m of [r.category, r.confidence]) {
    if (m?.ids) out.push(m.ids.buffer as ArrayBuffer);
    if (m?.planes) out.push(m.planes.buffer as ArrayBuffer);
  }
  return [...new Set(out)];
}
