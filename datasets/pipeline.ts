/**
 * Batches for training and evaluation, the tf.data way: a seeded shuffle buffer over the
 * (cached) samples, random horizontal flip of image and mask together (training only), batching,
 * and prefetch of the next batch while the current one trains. Everything random is derived from
 * (seed, epoch, position), so an epoch can be replayed from any batch after a restart.
 */
import { ContractError, INPUT_CHANNELS, type InputSize } from '../core/index.js';
import { DEFAULT_GEOMETRY } from '../core/contract.js';
import { flipHorizontal } from '../core/preprocess.js';
import { createRandom, hashSeed } from '../core/random.js';
import type { SampleSet } from './dataset.js';
import { packSoftTargets } from './soft_targets.js';

/** How samples become batches: size, shuffle buffer, flips, resume point. */
export interface BatchOptions {
  batchSize: number;
  /** Shuffle with a buffer of this many samples; 0 keeps the order. @default 0 */
  shuffleBuffer?: number;
  /** Random horizontal flip, p = 0.5. @default false */
  flip?: boolean;
  seed?: number;
  epoch?: number;
  /** Drop a last, smaller batch. @default false */
  dropRemainder?: boolean;
  /** Skip this many batches (resume inside an epoch). @default 0 */
  startBatch?: number;
  /** Pack samples' soft targets into the labels (data/soft_targets.ts); training only. @default false */
  softTargets?: boolean;
  /** Height and width of the samples (the model's, as the dataset was opened with). @default 128×128, edgeseg's own */
  size?: InputSize;
}

/** One batch of preprocessed images and their masks. */
export interface Batch {
  /** [n, H, W, 3] float32, NHWC. */
  images: Float32Array;
  /** [n, H, W] class ids (packed with soft targets when asked: data/soft_targets.ts). */
  masks: Int32Array;
  ids: string[];
  size: number;
}

/** The order a shuffle buffer of size `buffer` emits indices 0..n-1 in (like tf.data's shuffle). */
export function shuffleOrder(n: number, buffer: number, seed: number): number[] {
  if (buffer <= 1) return Array.from({ length: n }, (_, i) => i);
  const rand = createRandom(seed);
  const out: number[] = [];
  const pool: number[] = [];
  let next = 0;
  while (next < n && pool.length < buffer) pool.push(next++);
  while (pool.length) {
    const k = Math.floor(rand() * pool.length);
    out.push(pool[k]);
    if (next < n) pool[k] = next++;
    else pool.splice(k, 1);
  }
  return out;
}

/** Batches per epoch for `size` samples. */
export function batchCount(size: number, batchSize: number, dropRemainder: boolean): number {
  return dropRemainder ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** The batches of one epoch of `set`, decoded ahead and shuffled as configured. */
export async function* batches(set: SampleSet, options: BatchOptions): AsyncGenerator<Batch> {
  const { batchSize, shuffleBuffer = 0, flip = false, seed = 1, epoch = 0, dropRemainder = false, startBatch = 0, softTargets = false, size = DEFAULT_GEOMETRY } = options;
  const { height, width } = size;
  const PIXELS = height * width;
  const order = shuffleOrder(set.size, shuffleBuffer, hashSeed(seed, epoch));
  const total = batchCount(set.size, batchSize, dropRemainder);
  const build = async (b: number): Promise<Batch> => {
    const idx = order.slice(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
    const samples = await Promise.all(idx.map((i) => set.get(i)));
    const images = new Float32Array(samples.length * PIXELS * INPUT_CHANNELS);
    const masks = new Int32Array(samples.length * PIXELS);
    samples.forEach((s, k) => {
      if (s.image.length !== PIXELS * INPUT_CHANNELS || s.mask.length !== PIXELS) {
        throw new ContractError(`sample ${s.id} holds ${s.mask.length} pixels, batches of this model are ${height}×${width}; open the dataset with the model's geometry`);
      }
      const flipped = flip && createRandom(hashSeed(seed, epoch, idx[k], 0x46))() < 0.5;
      images.set(flipped ? flipHorizontal(s.image, width, height, INPUT_CHANNELS) : s.image, k * PIXELS * INPUT_CHANNELS);
      const flip1 = (m: Uint8Array) => (flipped ? flipHorizontal(m, width, height, 1) : m);
      masks.set(softTargets && s.soft ? packSoftTargets(flip1(s.mask), flip1(s.soft)) : flip1(s.mask), k * PIXELS);
    });
    return { images, masks, ids: samples.map((s) => s.id), size: samples.length };
  };
  let pending: Promise<Batch> | null = startBatch < total ? build(startBatch) : null;
  for (let b = startBatch; b < total; b++) {
    const current = await pending!;
    pending = b + 1 < total ? build(b + 1) : null;
    yield current;
  }
}
