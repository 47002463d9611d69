/**
 * The API the worker exposes over comlink, and how errors cross the thread boundary: core's error
 * codec keeps name, `code`, `retriable`, stack and named fields (comlink's default keeps only the message).
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { deserializeError, serializeError, type SerializedError } from '../core/index.js';
import type { ResolvedSegmenterOptions, SegmentationResult, SegmenterInfo } from './segmenter.js';

/** What the engine returns per frame; the caller adds the end-to-end time. */
export type EngineResult = Omit<SegmentationResult, 'timings'> & { timings: Omit<SegmentationResult['timings'], 'total'> };

export interface EngineApi {
  init(options: ResolvedSegmenterOptions): Promise<SegmenterInfo>;
  /** Segments an ImageBitmap or VideoFrame (transferred; the engine closes it). */
  segment(frame: ImageBitmap | VideoFrame): Promise<EngineResult>;
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
