/**
 * What a conversion measures, in one place, for edgeseg's own graphs and imported models alike:
 * the held-out and calibration sets it opens (at the parent's size and normalization), the masks a
 * model predicts on them (tfjs, or ONNX Runtime), the activation ranges it calibrates, and the one
 * accuracy gate. The converter's only door into trainer/'s data sets and evaluation.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { CLASS_IDS_NAME, ConfusionMatrix, DatasetError, EdgesegError, geometryOf, normalizationOf, OrtSession, type Logger, type ModelCard, type ModelContract, type ModelGeometry, type SegmentationMetrics } from '../core/index.js';
import { openDataset, type Dataset, type SampleSet } from '../trainer/data/dataset.js';
import { batches } from '../trainer/data/pipeline.js';
import { evaluate } from '../trainer/evaluate.js';

export type { Dataset, SampleSet };

/** Accuracy of a variant against its parent on one held-out set: both models' metrics and their mask agreement. */
export interface Comparison {
  parent: SegmentationMetrics;
  variant: SegmentationMetrics;
  /** Signed, variant − parent, on the 0–1 scale. */
  delta: { miou: number; pixelAccuracy: number };
  /** Fraction of pixels where both models predict the same class. */
  maskAgreement: number;
}

/** A model's metrics on a set and its predicted masks, in set order. */
export interface MaskEval {
  metrics: SegmentationMetrics;
  masks: Uint8Array[];
}

/** The variant lost more accuracy than `--max-miou-drop` allows; nothing was written. */
export class AccuracyGateError extends EdgesegError {
  constructor(message: string) {
    super('ACCURACY_GATE_FAILED', message);
  }
}

/** The sets a conversion measures on; `close` releases both. */
export interface ConversionData {
  /** The held-out split of `eval`: the gate's (and `mixed`'s) set. */
  heldOut: Dataset | null;
  /** The training split whose samples calibrate activation ranges (int8 ONNX). */
  calibration: Dataset | null;
  close(): Promise<void>;
}

/**
 * Opens the held-out set (`evalSpec`) and, when `calibrate` names one, the calibration set, at the
 * parent's own size, classes and input normalization: the variant keeps all three, so its gate and
 * its calibration see the samples it will serve.
 */
export async function openConversionData(o: { evalSpec?: string; calibrate?: string }, parent: ModelCard, log: Logger): Promise<ConversionData> {
  const shape = { normalization: normalizationOf(parent), geometry: geometryOf(parent) };
  const heldOut = o.evalSpec ? await openDataset(o.evalSpec, { splits: ['held-out'], log: log.child('data'), ...shape }) : null;
  const close = async () => {
    await heldOut?.close();
    await calibration?.close();
  };
  let calibration: Dataset | null = null;
  try {
    if (heldOut && heldOut.heldOut.size === 0) throw new DatasetError('DATASET_EMPTY', `held-out set ${heldOut.spec} is empty (its ${heldOut.heldOutSplit} split has no sample)`);
    calibration = o.calibrate ? await openDataset(o.calibrate, { splits: ['train'], log: log.child('calibration'), ...shape }) : null;
    if (calibration && calibration.train.size === 0) throw new DatasetError('DATASET_EMPTY', `calibration set ${calibration.spec} has no training sample`);
  } catch (err) {
    await close();
    throw err;
  }
  return { heldOut, calibration, close };
}

/** Predicted masks and metrics of a tfjs model over a set, in set order. */
export async function predictMasks(model: LayersModel, set: SampleSet, geometry?: ModelGeometry, batchSize = 16): Promise<MaskEval> {
  const masks: Uint8Array[] = [];
  const { metrics } = await evaluate(model, set, { batchSize, geometry, onMasks: (_ids, m) => masks.push(m) });
  return { metrics, masks };
}

function argmaxNhwc(logits: Float32Array, n: number, { height, width, classes }: ModelGeometry): Uint8Array {
  const pixels = n * height * width;
  const ids = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
    ids[p] = best;
  }
  return ids;
}

/**
 * Masks and metrics of an ONNX model over a set, in set order. edgeseg's own exports are read from
 * their in-graph `class_ids` output (what the runtimes serve); an imported model, run through its
 * own `contract` (names, layout), from the argmax of its logits.
 */
export async function predictMasksOnnx(bytes: Uint8Array, set: SampleSet, o: { contract?: ModelContract; geometry?: ModelGeometry } = {}): Promise<MaskEval> {
  const session = await OrtSession.create(ort, bytes, o.contract ? { contract: o.contract } : {});
  const geometry = o.contract ? geometryOf(o.contract) : o.geometry;
  const confusion = new ConfusionMatrix(geometry?.classes);
  const masks: Uint8Array[] = [];
  try {
    for await (const batch of batches(set, { batchSize: 16, size: geometry })) {
      const ids = o.contract
        ? argmaxNhwc((await session.run(batch.images, batch.size))[session.outputName] as Float32Array, batch.size, geometry!)
        : Uint8Array.from((await session.run(batch.images, batch.size, [CLASS_IDS_NAME]))[CLASS_IDS_NAME] as Uint8Array);
      confusion.accumulate(batch.masks, ids);
      masks.push(ids);
    }
  } finally {
    await session.release();
  }
  return { metrics: confusion.metrics(), masks };
}

/**
 * The one calibration: [min, max] of each of `outputs` of `probe` (a float model with the tensors
 * to quantize exposed as outputs) over the first `maxSamples` training samples of `set` (whole
 * batches of 8, so a few more may be seen), run in ONNX Runtime through `contract` when given.
 */
export async function calibrateRanges(
  probe: Uint8Array,
  outputs: readonly string[],
  set: Dataset,
  o: { maxSamples: number; contract?: ModelContract },
): Promise<{ ranges: Map<string, [number, number]>; samples: number }> {
  const session = await OrtSession.create(ort, probe, o.contract ? { contract: o.contract } : {});
  const ranges = new Map<string, [number, number]>(outputs.map((t) => [t, [Infinity, -Infinity]]));
  let samples = 0;
  try {
    for await (const batch of batches(set.train, { batchSize: 8, size: o.contract ? geometryOf(o.contract) : undefined })) {
      if (samples >= o.maxSamples) break;
      const values = await session.run(batch.images, batch.size, outputs);
      for (const t of outputs) {
        const r = ranges.get(t)!;
        const data = values[t] as Float32Array;
        for (let i = 0; i < data.length; i++) {
          const v = data[i];
          if (v < r[0]) r[0] = v;
          if (v > r[1]) r[1] = v;
        }
      }
      samples += batch.size;
    }
  } finally {
    await session.release();
  }
  return { ranges, samples };
}

/** Fraction of pixels where two lists of masks (in the same order) predict the same class. */
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

/** A variant's masks against its parent's on the same set. */
export function compare(parent: MaskEval, variant: MaskEval): Comparison {
  return {
    parent: parent.metrics,
    variant: variant.metrics,
    delta: { miou: variant.metrics.miou - parent.metrics.miou, pixelAccuracy: variant.metrics.pixelAccuracy - parent.metrics.pixelAccuracy },
    maskAgreement: agreement(parent.masks, variant.masks),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * The accuracy gate, the one place the mIoU budget is enforced (on a tfjs variant, its ONNX model
 * and an imported model's int8 ONNX alike): a model's masks against the parent's on the held-out
 * set. Past the budget it throws AccuracyGateError before anything is written; `fix` says what to
 * try instead.
 */
export function accuracyGate(
  model: { label: string; subject: string },
  parentEval: MaskEval,
  variantEval: MaskEval,
  gate: { budget: number | undefined; heldOut: string; fix: string },
  progress: (message: string) => void,
): Comparison {
  const c = compare(parentEval, variantEval);
  progress(`${model.label}: mIoU ${pct(c.variant.miou)} (${c.delta.miou >= 0 ? '+' : ''}${(100 * c.delta.miou).toFixed(2)} points), mask agreement ${pct(c.maskAgreement)}`);
  const drop = -c.delta.miou;
  if (gate.budget !== undefined && drop > gate.budget) {
    throw new AccuracyGateError(
      `${model.subject} loses ${(100 * drop).toFixed(2)} mIoU points on ${gate.heldOut} (${pct(parentEval.metrics.miou)} → ${pct(c.variant.miou)}), more than the allowed ${(100 * gate.budget).toFixed(2)}; nothing was written. ${gate.fix}`,
    );
  }
  return c;
}
