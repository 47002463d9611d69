/** Accuracy of a variant against its parent on one held-out set: both models' metrics and their mask agreement. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { SegmentationMetrics } from '../core/index.js';
import type { SampleSet } from '../trainer/data/dataset.js';
import { evaluate } from '../trainer/evaluate.js';

export interface Comparison {
  parent: SegmentationMetrics;
  variant: SegmentationMetrics;
  /** Signed, variant − parent, on the 0–1 scale. */
  delta: { miou: number; pixelAccuracy: number };
  /** Fraction of pixels where both models predict the same class. */
  maskAgreement: number;
}

/** Predicted masks of a model over a set, in set order. */
export async function predictMasks(model: LayersModel, set: SampleSet, batchSize = 16): Promise<{ metrics: SegmentationMetrics; masks: Uint8Array[] }> {
  const masks: Uint8Array[] = [];
  const { metrics } = await evaluate(model, set, { batchSize, onMasks: (_ids, m) => masks.push(m) });
  return { metrics, masks };
}

export function agreement(a: Uint8Array[], b: Uint8Array[]): number {
  let same = 0;
  let total = 0;
  a.forEach((m, k) => {
    const n = b[k];
    for (let i = 0; i < m.length; i++) if (m[i] === n[i]) same++;
    total += m.length;
  });
  return total ? same / total : NaN;
}

export function compare(parent: { metrics: SegmentationMetrics; masks: Uint8Array[] }, variant: { metrics: SegmentationMetrics; masks: Uint8Array[] }): Comparison {
  return {
    parent: parent.metrics,
    variant: variant.metrics,
    delta: { miou: variant.metrics.miou - parent.metrics.miou, pixelAccuracy: variant.metrics.pixelAccuracy - parent.metrics.pixelAccuracy },
    maskAgreement: agreement(parent.masks, variant.masks),
  };
}
