/**
 * Model output → what callers use: class-id masks and per-frame statistics (class coverage,
 * mean confidence, mean entropy, mean margin), computed on the active backend with one readback.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MAX_CLASSES, type ModelGeometry } from './contract.js';
import { ContractError } from './errors.js';

/** Per-frame statistics of a model output. */
export interface FrameStats {
  /** Fraction of pixels assigned to each class id, sums to 1. */
  classCoverage: number[];
  /** Mean over pixels of the winning class's softmax probability, 0–1. */
  meanConfidence: number;
  /** Mean over pixels of the softmax entropy, in nats (0 … ln classes: `maxEntropy`). */
  entropy: number;
  /** Mean over pixels of (top-1 − top-2) probability, 0–1; low means uncertain. */
  margin: number;
}

/** A frame's class-id mask and its statistics. */
export interface Segmentation extends FrameStats {
  /** Class ids at the model's output size (its input's height × width), row-major. */
  mask: Uint8Array;
}

/**
 * Largest possible per-pixel entropy of a model of `classes` classes (uniform over them), in
 * nats: what entropies are normalised by (`classCountOf(card)`; ln 3 for edgeseg's own, ln 21
 * for a PASCAL DeepLab).
 */
export function maxEntropy(classes: number): number {
  checkClasses(classes);
  return Math.log(classes);
}

function checkClasses(classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new ContractError(`class count must be 1–${MAX_CLASSES} (class ids fit a byte), got ${classes}`);
}

/**
 * Logits [N, H, W, C] → per-frame mask (H×W) and stats over C classes, sized by the tensor itself.
 * Reads the device once per call and disposes everything it creates; the caller keeps ownership
 * of `logits`.
 */
export async function summarizeLogits(logits: tf.Tensor4D): Promise<Segmentation[]> {
  const [n, height, width, classes] = logits.shape;
  checkClasses(classes);
  const pixels = height * width;
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
    const counts = new Array<number>(classes).fill(0);
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
 * `summarizeLogits` over logits already in memory ([N, H, W, C] row-major, as ONNX Runtime
 * returns them; H, W and C from `geometryOf(card)`): the same masks (argmax, first class on ties)
 * and statistics, computed in plain JavaScript instead of a round trip through a tfjs backend.
 * Throws `CONTRACT_MISMATCH` when the values do not fill n frames of that geometry.
 */
export function summarizeLogitsData(logits: Float32Array, n: number, geometry: ModelGeometry): Segmentation[] {
  const { height, width, classes } = geometry;
  checkClasses(classes);
  const pixels = height * width;
  if (logits.length !== n * pixels * classes) throw new ContractError(`logits hold ${logits.length} values, not ${n}×${height}×${width}×${classes}`);
  const out: Segmentation[] = [];
  for (let f = 0; f < n; f++) {
    const mask = new Uint8Array(pixels);
    const counts = new Array<number>(classes).fill(0);
    let conf = 0;
    let margin = 0;
    let ent = 0;
    for (let i = 0; i < pixels; i++) {
      const base = (f * pixels + i) * classes;
      let best = 0;
      for (let k = 1; k < classes; k++) if (logits[base + k] > logits[base + best]) best = k;
      const max = logits[base + best];
      // With d = logit − max and e = exp(d): p = e / Σe, top-1 = 1 / Σe, and the entropy
      // −Σ p ln p = ln Σe − Σ e·d / Σe: one exp per class and one log per pixel; a log per class
      // made a 513×513, 21-class frame 1.5–1.8× slower to summarise (same masks and statistics).
      let sum = 0;
      let weighted = 0;
      let second = 0;
      for (let k = 0; k < classes; k++) {
        const d = logits[base + k] - max;
        const e = Math.exp(d);
        sum += e;
        weighted += e * d;
        if (k !== best && e > second) second = e;
      }
      const top = 1 / sum;
      mask[i] = best;
      counts[best]++;
      conf += top;
      margin += top - second / sum;
      ent += Math.log(sum) - weighted / sum;
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
