/**
 * Segmentation metrics from one confusion matrix, accumulated across batches: pixel accuracy,
 * per-class IoU, mean IoU, Dice, and the foreground IoU that pet-segmentation results are usually
 * compared by. Rows are true classes, columns predicted classes.
 */
import { CLASS_BORDER, CLASS_PET, MAX_CLASSES, NUM_CLASSES } from './contract.js';
import { ContractError } from './errors.js';

/** Pixel accuracy, IoU per class, mIoU and Dice of predicted against true masks (0–1). */
export interface SegmentationMetrics {
  /** Correct pixels / all pixels, 0–1. */
  pixelAccuracy: number;
  /** IoU of each class, 0–1; NaN for a class absent from both truth and prediction. */
  perClassIou: number[];
  /** Mean IoU over classes present in truth or prediction, 0–1. */
  miou: number;
  /** Dice (F1) per class, 0–1; NaN like perClassIou. */
  perClassDice: number[];
  /** Mean Dice over the same classes as miou. */
  dice: number;
  /**
   * IoU of pet against everything else, 0–1, with pixels whose truth is border left out (the
   * trimap's border is "not classified"); a pixel predicted border counts as not pet. NaN when no
   * pixel is pet in truth or prediction.
   */
  foregroundIou: number;
  /** Pixels counted. */
  pixels: number;
}

/** Accumulates a class confusion matrix over masks and derives SegmentationMetrics from it. */
export class ConfusionMatrix {
  readonly numClasses: number;
  /** counts[truth * numClasses + predicted] */
  readonly counts: Float64Array;

  /** @param numClasses the model's class count (`classCountOf(card)`) @default 3, edgeseg's own U-Nets' */
  constructor(numClasses: number = NUM_CLASSES) {
    if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) throw new ContractError(`a confusion matrix has 1–${MAX_CLASSES} classes, not ${numClasses}`);
    this.numClasses = numClasses;
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds one mask pair (or a whole batch, flattened) to the matrix. */
  accumulate(truth: ArrayLike<number>, predicted: ArrayLike<number>): this {
    if (truth.length !== predicted.length) {
      throw new ContractError(`truth has ${truth.length} pixels but prediction has ${predicted.length}`);
    }
    const k = this.numClasses;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i];
      const p = predicted[i];
      if (t >= k || p >= k || t < 0 || p < 0) {
        throw new ContractError(`class id out of range at pixel ${i}: truth ${t}, predicted ${p} (classes 0–${k - 1})`);
      }
      this.counts[t * k + p]++;
    }
    return this;
  }

  /** Adds another matrix's counts into this one. */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses) throw new ContractError('cannot merge confusion matrices of different class counts');
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  metrics(): SegmentationMetrics {
    const k = this.numClasses;
    let total = 0;
    let correct = 0;
    const perClassIou: number[] = [];
    const perClassDice: number[] = [];
    for (let c = 0; c < k; c++) {
      let rowSum = 0;
      let colSum = 0;
      for (let j = 0; j < k; j++) {
        rowSum += this.counts[c * k + j];
        colSum += this.counts[j * k + c];
      }
      const tp = this.counts[c * k + c];
      correct += tp;
      total += rowSum;
      const union = rowSum + colSum - tp;
      perClassIou.push(union === 0 ? NaN : tp / union);
      perClassDice.push(rowSum + colSum === 0 ? NaN : (2 * tp) / (rowSum + colSum));
    }
    return {
      pixelAccuracy: total === 0 ? NaN : correct / total,
      perClassIou,
      miou: nanMean(perClassIou),
      perClassDice,
      dice: nanMean(perClassDice),
      foregroundIou: this.foregroundIou(),
      pixels: total,
    };
  }

  /** Pet vs the rest, border truth ignored (see SegmentationMetrics.foregroundIou); NaN for matrices of another class layout than edgeseg's pet/background/border. */
  foregroundIou(): number {
    const k = this.numClasses;
    if (k !== NUM_CLASSES) return NaN;
    let tp = 0;
    let fn = 0;
    let fp = 0;
    for (let t = 0; t < k; t++) {
      if (t === CLASS_BORDER) continue;
      for (let p = 0; p < k; p++) {
        const n = this.counts[t * k + p];
        if (t === CLASS_PET && p === CLASS_PET) tp += n;
        else if (t === CLASS_PET) fn += n;
        else if (p === CLASS_PET) fp += n;
      }
    }
    const union = tp + fn + fp;
    return union === 0 ? NaN : tp / union;
  }
}

function nanMean(values: number[]): number {
  const present = values.filter((v) => !Number.isNaN(v));
  return present.length === 0 ? NaN : present.reduce((a, b) => a + b, 0) / present.length;
}

/** Fraction of pixels on which two class-id masks agree, 0–1. */
export function maskAgreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ContractError(`masks differ in size: ${a.length} vs ${b.length} pixels`);
  if (a.length === 0) return NaN;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** The `p`-quantile (0–1) of `values` by nearest rank, NaN when empty; `values` is not reordered. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
