/**
 * Fits the border rule (border.ts) to real trimaps: the teacher labels photos that have real
 * Oxford trimaps, and a grid of (inner, outer) band widths is scored by the mIoU of the teacher's
 * trimaps against the real ones over all those photos (one confusion matrix, at each photo's own
 * size). The distances to the teacher's outline are computed once per photo; each grid point only
 * re-thresholds them.
 */
import { readFileSync } from 'node:fs';
import { CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET, ConfusionMatrix, type SegmentationMetrics } from '../../core/index.js';
import { decodePngChannel } from '../../core/mask_codec.js';
import { trimapToClassIds } from '../../core/preprocess.js';
import { decodeImage } from '../../core/node/decode_image.js';
import type { BorderRule } from './border.js';
import { distanceTo } from './distance.js';
import { resizeFloatMap, type Teacher } from './teacher.js';

/** Band widths tried by default (fractions of √(W·H)); 0 on one side means no band there. */
export const BORDER_GRID = {
  inner: [0, 0.006, 0.01, 0.014, 0.018, 0.022, 0.026, 0.03, 0.035],
  outer: [0, 0.006, 0.01, 0.014, 0.018, 0.022, 0.026, 0.03, 0.035],
};

/** A photo with a real trimap, as the teacher sees it. */
interface Scored {
  truth: Uint8Array;
  pet: Uint8Array;
  toBackground: Float32Array;
  toPet: Float32Array;
  scale: number;
}

export interface BorderFit {
  rule: BorderRule;
  metrics: SegmentationMetrics;
  photos: number;
  /** Every grid point's mIoU, best first. */
  grid: { rule: BorderRule; miou: number }[];
}

/** Teacher log-odds and real trimap of one photo, with the distances every rule thresholds. */
export async function scorePhoto(teacher: Teacher, imagePath: string, trimapPath: string): Promise<Scored> {
  const image = await decodeImage(new Uint8Array(readFileSync(imagePath)));
  const raw = decodePngChannel(new Uint8Array(readFileSync(trimapPath)));
  if (raw.width !== image.width || raw.height !== image.height) throw new RangeError(`${trimapPath} is ${raw.width}×${raw.height}, its photo ${image.width}×${image.height}`);
  const m = await teacher.logOdds(image);
  const logOdds = resizeFloatMap(m.data, m, image.width, image.height);
  const n = image.width * image.height;
  const pet = new Uint8Array(n);
  for (let i = 0; i < n; i++) pet[i] = logOdds[i] > 0 ? 1 : 0;
  return {
    truth: trimapToClassIds(raw.data),
    pet,
    toBackground: distanceTo(image.width, image.height, (i) => !pet[i]),
    toPet: distanceTo(image.width, image.height, (i) => pet[i] === 1),
    scale: Math.sqrt(n),
  };
}

/** The trimap a rule gives for a scored photo. */
function apply(s: Scored, rule: BorderRule, out: Uint8Array): Uint8Array {
  const inner = rule.inner * s.scale;
  const outer = rule.outer * s.scale;
  for (let i = 0; i < s.pet.length; i++) {
    const band = s.pet[i] ? s.toBackground[i] <= inner : s.toPet[i] <= outer;
    out[i] = band ? CLASS_BORDER : s.pet[i] ? CLASS_PET : CLASS_BACKGROUND;
  }
  return out;
}

/** Agreement of a rule's trimaps with the real ones over scored photos. */
export function agreement(scored: Scored[], rule: BorderRule): SegmentationMetrics {
  const cm = new ConfusionMatrix(3);
  for (const s of scored) cm.accumulate(s.truth, apply(s, rule, new Uint8Array(s.truth.length)));
  return cm.metrics();
}

/** Scores every grid point and returns the best rule (ties: the narrower band). */
export function fitBorder(scored: Scored[], grid = BORDER_GRID): BorderFit {
  const results: { rule: BorderRule; miou: number }[] = [];
  for (const inner of grid.inner) for (const outer of grid.outer) results.push({ rule: { inner, outer }, miou: agreement(scored, { inner, outer }).miou });
  results.sort((a, b) => b.miou - a.miou || a.rule.inner + a.rule.outer - (b.rule.inner + b.rule.outer));
  const rule = results[0].rule;
  return { rule, metrics: agreement(scored, rule), photos: scored.length, grid: results };
}
