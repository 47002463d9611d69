/**
 * What both worker segmenters — the full WorkerSegmenter and the lean OrtWorkerSegmenter of
 * `edgeseg/runtime-web/ort` — do the same way: frames take turns through one queue (a model runs
 * one frame at a time), video streams are pumped through `segment`, mask bitmaps are drawn in the
 * worker and transferred, and `reset()` forgets smoothing's previous frame.
 */
import { transfer } from 'comlink';
import { drawMaskBitmap } from './mask_bitmap.js';
import type { ServedGeometry } from './model_geometry.js';
import { resultBuffers, type FrameMeta, type PumpReport, type RawMask, type WorkerSegmentResult } from './protocol.js';
import { FramePump } from './pump.js';

export abstract class WorkerSegmenterBase {
  /** The served model's size, classes and labels; set by `init`. */
  protected geometry: ServedGeometry | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pumps = new FramePump();

  abstract segment(input: ImageBitmap | VideoFrame, meta: FrameMeta): Promise<WorkerSegmentResult>;

  /** Drops smoothing's state (the previous frame's probabilities), freeing what holds it. */
  protected abstract dropPrevious(): void;

  /** Runs `fn` after every call queued before it (each runs even when the one before failed). */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  async reset(): Promise<void> {
    await this.exclusive(async () => this.dropPrevious());
  }

  pump(id: number, stream: ReadableStream<VideoFrame>, onReport: (r: PumpReport) => void | Promise<void>, onError: (e: Error) => void): Promise<void> {
    return this.pumps.run(id, stream, (frame) => this.segment(frame, { timestampMs: null }), (r) => onReport(transfer(r, resultBuffers(r.result))), onError);
  }

  async stopPump(id: number): Promise<void> {
    this.pumps.stop(id);
  }

  async maskBitmap(mask: RawMask, classIndex: number | null): Promise<ImageBitmap> {
    const bitmap = drawMaskBitmap(mask, classIndex, this.geometry!);
    return transfer(bitmap, [bitmap]);
  }
}
