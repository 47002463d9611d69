/**
 * A teacher's pet/background map → an Oxford-IIIT trimap, with the border band the real trimaps
 * draw. The Oxford annotators marked a band around each pet's outline as "border / not classified";
 * a teacher has no such class, so the band is drawn around the teacher's own boundary:
 *
 *   pet pixel  within `inner` × √(W·H) of the nearest background pixel → border
 *   background within `outer` × √(W·H) of the nearest pet pixel        → border
 *
 * Widths scale with the image (√(W·H)), because the real trimaps' band does: on the developers'
 * labelled subset a proportional band agreed better with the real trimaps than any fixed width in
 * pixels (mIoU 0.759 vs 0.747 on a third of trainval) and better than a band from the teacher's own
 * uncertainty (|log-odds| < t added nothing at any t tried). `DEFAULT_BORDER_RULE` holds the
 * widths fitted there (`scripts/fit_teacher_border.ts` reproduces the search); `edgeseg label
 * --fit-border oxford:<dir>` fits them on any labelled set.
 */
import { CLASS_BACKGROUND, CLASS_BORDER, CLASS_PET } from '../../core/index.js';
import { SOFT_LOG_ODDS_STEP, SOFT_ZERO } from '../../datasets/soft_targets.js';
import { distanceTo } from './distance.js';

/** Band half-widths on each side of the teacher's outline, as fractions of √(width × height). */
export interface BorderRule {
  inner: number;
  outer: number;
}

/**
 * The rule fitted on the official trainval split of the developers' 3-breed subset (160 photos,
 * grid inner 0–0.03 × outer 0–0.04): teacher trimaps vs real ones, mIoU 0.759 (pet 0.833,
 * background 0.925, border 0.520). A fixed band of 1.2 % on both sides gave 0.699.
 */
export const DEFAULT_BORDER_RULE: BorderRule = { inner: 0.026, outer: 0.02 };

/** Class ids (0 pet, 1 background, 2 border) from pet log-odds at `width` × `height`. */
export function teacherTrimap(logOdds: Float32Array, width: number, height: number, rule: BorderRule = DEFAULT_BORDER_RULE): Uint8Array {
  const n = width * height;
  if (logOdds.length !== n) throw new RangeError(`log-odds map holds ${logOdds.length} values, not ${width}×${height}`);
  const scale = Math.sqrt(n);
  const toBackground = distanceTo(width, height, (i) => !(logOdds[i] > 0));
  const toPet = distanceTo(width, height, (i) => logOdds[i] > 0);
  const inner = rule.inner * scale;
  const outer = rule.outer * scale;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const pet = logOdds[i] > 0;
    const band = pet ? toBackground[i] <= inner : toPet[i] <= outer;
    out[i] = band ? CLASS_BORDER : pet ? CLASS_PET : CLASS_BACKGROUND;
  }
  return out;
}

/** What the teacher makes of one photo: shares and a confidence for the manifest. */
export interface TeacherVerdict {
  /** Share of pixels the teacher calls pet (p > 0.5). */
  petShare: number;
  /** Share of pixels where the teacher is unsure: p(pet) between 0.27 and 0.73 (|log-odds| < 1). */
  unsureShare: number;
  /** Mean |2p − 1| over the frame: 1 when every pixel is certain, 0 when every pixel is a coin flip. */
  confidence: number;
}

/** Log-odds magnitude below which a pixel counts as unsure (p within 0.27–0.73). */
export const UNSURE_LOG_ODDS = 1;

export function verdictOf(logOdds: Float32Array): TeacherVerdict {
  let pet = 0;
  let unsure = 0;
  let conf = 0;
  for (const m of logOdds) {
    if (m > 0) pet++;
    if (Math.abs(m) < UNSURE_LOG_ODDS) unsure++;
    conf += Math.abs(2 / (1 + Math.exp(-m)) - 1);
  }
  const n = Math.max(1, logOdds.length);
  return { petShare: pet / n, unsureShare: unsure / n, confidence: conf / n };
}

/** When a photo's teacher labels are not kept. */
export interface SkipRule {
  /** Fewer pet pixels than this share: the teacher found no pet. @default 0.01 */
  minPetShare: number;
  /** More unsure pixels than this share: the teacher is unsure over most of the frame. @default 0.5 */
  maxUnsureShare: number;
}

export const DEFAULT_SKIP_RULE: SkipRule = { minPetShare: 0.01, maxUnsureShare: 0.5 };

/**
 * Soft targets as an 8-bit grey PNG beside the trimap: the pet log-odds m in steps of 1/8,
 * value = clamp(round(8m) + 128, 1, 255), so 128 is p = 0.5 and the range is m ∈ [−15.9, 15.9]
 * (p within 1.3e-7 of 0 or 1). 0 is never written (it reads as "no soft target").
 */

export function encodeSoftTarget(logOdds: Float32Array): Uint8Array {
  const out = new Uint8Array(logOdds.length);
  for (let i = 0; i < logOdds.length; i++) out[i] = Math.max(1, Math.min(255, Math.round(logOdds[i] / SOFT_LOG_ODDS_STEP) + SOFT_ZERO));
  return out;
}

/** Inverse of encodeSoftTarget for one value (0: no soft target → NaN). */
export function decodeSoftValue(v: number): number {
  return v === 0 ? NaN : (v - SOFT_ZERO) * SOFT_LOG_ODDS_STEP;
}
