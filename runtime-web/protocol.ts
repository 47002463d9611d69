/**
 * The API the worker exposes over comlink, and how errors cross the thread boundary: with their
 * name, `code`, `retriable` and named fields intact (comlink's default keeps only the message).
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { EdgesegError } from '../core/index.js';
import type { ResolvedSegmenterOptions, SegmentationResult, SegmenterInfo } from './segmenter.js';

/** What the engine returns per frame; the caller adds the end-to-end time. */
export type EngineResult = Omit<SegmentationResult, 'timings'> & { timings: Omit<SegmentationResult['timings'], 'total'> };

export interface EngineApi {
  init(options: ResolvedSegmenterOptions): Promise<SegmenterInfo>;
  /** Segments an ImageBitmap (transferred; the engine closes it). */
  segment(frame: ImageBitmap): Promise<EngineResult>;
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  dispose(): Promise<void>;
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  retriable?: boolean;
  fields: Record<string, unknown>;
}

/** An error rebuilt on the receiving side: same name, message, code and named fields. */
class RemoteError extends EdgesegError {}

const throwHandler: TransferHandler<{ value: unknown }, SerializedError> = {
  // comlink wraps what a call throws in an object marked with its private `Comlink.thrown` symbol.
  canHandle: (v): v is { value: unknown } => typeof v === 'object' && v !== null && Object.getOwnPropertySymbols(v).some((s) => s.description === 'Comlink.thrown'),
  serialize({ value }) {
    const e = (value instanceof Error ? value : new Error(String(value))) as Error & { code?: string; retriable?: boolean };
    const fields: Record<string, unknown> = {};
    for (const key of ['file', 'reasons'] as const) if (key in e) fields[key] = (e as unknown as Record<string, unknown>)[key];
    return [{ name: e.name, message: e.message, stack: e.stack, code: e.code, retriable: e.retriable, fields }, []];
  },
  deserialize(s) {
    const e = new RemoteError(s.code ?? 'WORKER_ERROR', s.message, { retriable: s.retriable });
    e.name = s.name;
    if (s.stack) e.stack = s.stack;
    Object.assign(e, s.fields);
    throw e;
  },
};

/** Installs the error handler; both sides of the worker call this once. */
export function installErrorTransfer(): void {
  transferHandlers.set('throw', throwHandler as TransferHandler<unknown, unknown>);
}
