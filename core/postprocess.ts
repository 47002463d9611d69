/**
 * Model output → what callers use: class-id masks and per-frame statistics (class coverage,
 * mean confidence, mean entropy, mean margin), computed on the active backend with one readback.
 */
import * as tf from '@tensorflow/tfjs-core';
import { INPUT_SIZE, NUM_CLASSES } from './contract.js';

/** Per-frame statistics of a model output. */
export interface FrameStats {
  /** Fraction of pixels assigned to each class id, sums to 1. */
  classCoverage: number[];
  /** Mean over pixels of the winning class's softmax probability, 0–1. */
  meanConfidence: number;
  /** Mean over pixels of the softmax entropy, in nats (0 … ln 3). */
  entropy: number;
  /** Mean over pixels of (top-1 − top-2) probability, 0–1; low means uncertain. */
  margin: number;
}

/** A frame's class-id mask and its statistics. */
export interface Segmentation extends FrameStats {
  /** Class ids, 128×128, row-major. */
  mask: Uint8Array;
}

/** Largest possible per-pixel entropy (uniform over the classes), in nats. */
export const MAX_ENTROPY = Math.log(NUM_CLASSES);

/**
 * Logits [N, 128, 128, 3] → per-frame mask and stats. Reads the device once per call and
 * disposes everything it creates; the caller keeps ownership of `logits`.
 */
export async function summarizeLogits(logits: tf.Tensor4D): Promise<Segmentation[]> {
  const n = logits.shape[0];
  const pixels = INPUT_SIZE * INPUT_SIZE;
  const packed = tf.tidy(() => {
    const probs = tf.softmax(logits);
    const ids = tf.cast(tf.argMax(logits, -1), 'float32');
    const top2 = tf.topk(probs, 2).values;
    const conf = tf.squeeze(tf.slice(top2, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]);
    const second = tf.squeeze(tf.slice(top2, [0, 0, 0, 1], [-1, -1, -1, 1]), [3]);
    const ent = tf.neg(tf.sum(tf.mul(probs, tf.log(tf.maximum(probs, 1e-12))), -1));
    // One [N, 4, H, W] block: ids, confidence, margin, entropy.
    return tf.stack([ids, conf, tf.sub(conf, second), ent], 1);
  });
  const data = (await packed.data()) as Float32Array;
  packed.dispose();
  const out: Segmentation[] = [];
  for (let f = 0; f < n; f++) {
    const base = f * 4 * pixels;
    const mask = new Uint8Array(pixels);
    const counts = new Array<number>(NUM_CLASSES).fill(0);
    let conf = 0;
    let margin = 0;
    let ent = 0;
    for (let i = 0; i < pixels; i++) {
      const c = data[base + i];
      mask[i] = c;
      counts[c]++;
      conf += data[base + pixels + i];
      margin += data[base + 2 * pixels + i];
      ent += data[base + 3 * pixels + i];
    }
    out.push({
      mask,
      classCoverage: counts.map((k) => k / pixels),
      meanConfidence: conf / pixels,
      margin: margin / pixels,
      entropy: ent / pixels,
    });
  }
  return out;
}

/**
 * `summarizeLogits` over logits already in memory ([N, 128, 128, 3] row-major, as ONNX Runtime
 * returns them): the same masks (argmax, first class on ties) and statistics, computed in plain
 * JavaScript instead of a round trip through a tfjs backend.
 */
export function summarizeLogitsData(logits: Float32Array, n: number): Segmentation[] {
  const pixels = INPUT_SIZE * INPUT_SIZE;
  if (logits.length !== n * pixels * NUM_CLASSES) throw new RangeError(`logits hold ${logits.length} values, not ${n}×${INPUT_SIZE}×${INPUT_SIZE}×${NUM_CLASSES}`);
  const probs = new Float64Array(NUM_CLASSES);
  const out: Segmentation[] = [];
  for (let f = 0; f < n; f++) {
    const mask = new Uint8Array(pixels);
    const counts = new Array<number>(NUM_CLASSES).fill(0);
    let conf = 0;
    let margin = 0;
    let ent = 0;
    for (let i = 0; i < pixels; i++) {
      const base = (f * pixels + i) * NUM_CLASSES;
      let best = 0;
      for (let k = 1; k < NUM_CLASSES; k++) if (logits[base + k] > logits[base + best]) best = k;
      const max = logits[base + best];
      let sum = 0;
      for (let k = 0; k < NUM_CLASSES; k++) sum += probs[k] = Math.exp(logits[base + k] - max);
      let top = 0;
      let second = 0;
      let h = 0;
      for (let k = 0; k < NUM_CLASSES; k++) {
        const p = probs[k] / sum;
        if (p > top) {
          second = top;
          top = p;
        } else if (p > second) {
          second = p;
        }
        h -= p * Math.log(Math.max(p, 1e-12));
      }
      mask[i] = best;
      counts[best]++;
      conf += top;
      margin += top - second;
      ent += h;
    }
    out.push({ mask, classCoverage: counts.map((k) => k / pixels), meanConfidence: conf / pixels, margin: margin / pixels, entropy: ent / pixels });
  }
  return out;
}

/** Logits [N, H, W, C] → class ids [N, H, W] as one Uint8Array (argmax over the last axis). */
export async function logitsToMasks(logits: tf.Tensor4D): Promise<Uint8Array> {
  const ids = tf.tidy(() => tf.argMax(logits, -1));
  const data = await ids.data();
  ids.dispose();
  return Uint8Array.from(data);
}
