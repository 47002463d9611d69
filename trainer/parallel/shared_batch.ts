/**
 * The global batch in shared memory: the coordinator writes images and masks once, each replica
 * reads its own rows. Sized for the largest batch of the run.
 */
import { INPUT_CHANNELS, INPUT_SIZE } from '../../core/index.js';

export interface SharedBatchBuffers {
  /** [capacity, 128, 128, 3] float32. */
  images: SharedArrayBuffer;
  /** [capacity, 128, 128] int32. */
  masks: SharedArrayBuffer;
  capacity: number;
}

export const IMAGE_VALUES = INPUT_SIZE * INPUT_SIZE * INPUT_CHANNELS;
export const MASK_VALUES = INPUT_SIZE * INPUT_SIZE;

export function createSharedBatch(capacity: number): SharedBatchBuffers {
  return { images: new SharedArrayBuffer(capacity * IMAGE_VALUES * 4), masks: new SharedArrayBuffer(capacity * MASK_VALUES * 4), capacity };
}

export function writeSharedBatch(buffers: SharedBatchBuffers, images: Float32Array, masks: Int32Array, size: number): void {
  if (size > buffers.capacity) throw new RangeError(`batch of ${size} exceeds the shared batch capacity ${buffers.capacity}`);
  new Float32Array(buffers.images).set(images.subarray(0, size * IMAGE_VALUES));
  new Int32Array(buffers.masks).set(masks.subarray(0, size * MASK_VALUES));
}

/** Views (no copy) of rows [lo, hi) of the shared batch. */
export function readSharedBatch(buffers: SharedBatchBuffers, lo: number, hi: number): { images: Float32Array; masks: Int32Array } {
  return {
    images: new Float32Array(buffers.images, lo * IMAGE_VALUES * 4, (hi - lo) * IMAGE_VALUES),
    masks: new Int32Array(buffers.masks, lo * MASK_VALUES * 4, (hi - lo) * MASK_VALUES),
  };
}
