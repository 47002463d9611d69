/**
 * What a conversion measures, in one place, for edgeseg's own graphs and imported models alike:
 * the held-out and calibration sets, loaded once (at the parent's size and normalization), the
 * masks a model predicts on them (tfjs, or ONNX Runtime), the activation ranges it calibrates,
 * and the one accuracy gate. The converter's only door into datasets/.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { ConfusionMatrix, DatasetError, geometryOf, INPUT_CHANNELS, type Logger, type ModelCard, type ModelContract, type ModelGeometry, type SegmentationMetrics } from '../core/index.js';
import { CLASS_IDS_NAME, normalizationOf } from '../core/contract.js';
import { OrtSession } from '../core/ort_runner.js';
import { AccuracyGateError } from '../core/errors.js';
import { tf } from '../core/node/tfjs.js';
import { openDataset } from '../datasets/dataset.js';
import { batches, type Batch } from '../datasets/pipeline.js';

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

/**
 * A data set loaded once at the model's size, as the batches every model a conversion measures
 * runs over (the parent, the tfjs variant, `mixed`'s trials, the ONNX models): decoded,
 * normalized and batched a single time.
 */
export interface LoadedSet {
  spec: string;
  geometry: ModelGeometry;
  batches: Batch[];
  /** Samples in `batches`. */
  samples: number;
}

/** The held-out set, with what the card records of it. */
export interface HeldOutSet extends LoadedSet {
  /** `<spec>#<split>`, the split's manifest hash and its samples: the card's `evaluation`. */
  evaluation: { spec: string; manifestHash: string; samples: number };
}

/** The sets a conversion measures on. */
export interface ConversionData {
  /** The held-out split of `eval`: the gate's (and `mixed`'s) set. */
  heldOut: HeldOutSet | null;
  /** The first `calibrationSamples` of a training split, which calibrate activation ranges (int8 ONNX). */
  calibration: LoadedSet | null;
}

/** Batches of the gate's set: large enough to keep the backends busy, the same for every model. */
const HELD_OUT_BATCH = 16;
/** Calibration stops at the first whole batch past `calibrationSamples`. */
const CALIBRATION_BATCH = 8;

/**
 * Loads the held-out set (`evalSpec`) and the calibration set (`calibrate`, its first
 * `calibrationSamples` training samples, in whole batches) at the parent's own size, classes and
 * input normalization: the variant keeps all three, so its gate and its calibration see the
 * samples it will serve. A spec named for both is opened once, with both splits.
 */
export async function openConversionData(o: { evalSpec?: string; calibrate?: string; calibrationSamples: number }, parent: ModelCard, log: Logger): Promise<ConversionData> {
  const geometry = geometryOf(parent);
  const wanted = new Map<string, ('held-out' | 'train')[]>();
  if (o.evalSpec) wanted.set(o.evalSpec, ['held-out']);
  if (o.calibrate) wanted.set(o.calibrate, [...(wanted.get(o.calibrate) ?? []), 'train']);
  const data: ConversionData = { heldOut: null, calibration: null };
  for (const [spec, splits] of wanted) {
    const set = await openDataset(spec, { splits, log: log.child('data'), normalization: normalizationOf(parent), geometry });
    try {
      for (const split of splits) {
        const held = split === 'held-out';
        const samples = held ? set.heldOut : set.train;
        if (samples.size === 0) {
          throw new DatasetError('DATASET_EMPTY', held ? `held-out set ${set.spec} is empty (its ${set.heldOutSplit} split has no sample)` : `calibration set ${set.spec} has no training sample`);
        }
        const loaded: LoadedSet = { spec: set.spec, geometry, batches: [], samples: 0 };
        const limit = held ? samples.size : o.calibrationSamples;
        for await (const batch of batches(samples, { batchSize: held ? HELD_OUT_BATCH : CALIBRATION_BATCH, size: geometry })) {
          if (loaded.samples >= limit) break;
          loaded.batches.push(batch);
          loaded.samples += batch.size;
        }
        if (held) data.heldOut = { ...loaded, evaluation: { spec: `${set.spec}#${set.heldOutSplit}`, manifestHash: set.manifest.splitHashes[set.heldOutSplit], samples: samples.size } };
        else data.calibration = loaded;
      }
    } finally {
      await set.close();
    }
  }
  return data;
}

/** Predicted masks and metrics of a tfjs model over a loaded set, in set order. */
export async function predictMasks(model: LayersModel, set: LoadedSet): Promise<MaskEval> {
  const { height, width, classes } = set.geometry;
  const confusion = new ConfusionMatrix(classes);
  const masks: Uint8Array[] = [];
  for (const batch of set.batches) {
    const ids = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(batch.images, [batch.size, height, width, INPUT_CHANNELS])) as tf.Tensor4D, -1));
    const predicted = Uint8Array.from(await ids.data());
    ids.dispose();
    confusion.accumulate(batch.masks, predicted);
    masks.push(predicted);
  }
  return { metrics: confusion.metrics(), masks };
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
 * Masks and metrics of an ONNX model over a loaded set, in set order. edgeseg's own exports are
 * read from their in-graph `class_ids` output (what the runtimes serve); an imported model, run
 * through its own `contract` (names, layout), from the argmax of its logits.
 */
export async function predictMasksOnnx(bytes: Uint8Array, set: LoadedSet, contract?: ModelContract): Promise<MaskEval> {
  const session = await OrtSession.create(ort, bytes, contract ? { contract } : {});
  const confusion = new ConfusionMatrix(set.geometry.classes);
  const masks: Uint8Array[] = [];
  try {
    for (const batch of set.batches) {
      const ids = contract
        ? argmaxNhwc((await session.run(batch.images, batch.size))[session.outputName] as Float32Array, batch.size, set.geometry)
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
 * to quantize exposed as outputs) over the loaded calibration set, run in ONNX Runtime through
 * `contract` when given (an imported model's).
 */
export async function calibrateRanges(probe: Uint8Array, outputs: readonly string[], set: LoadedSet, contract?: ModelContract): Promise<Map<string, [number, number]>> {
  const session = await OrtSession.create(ort, probe, contract ? { contract } : {});
  const ranges = new Map<string, [number, number]>(outputs.map((t) => [t, [Infinity, -Infinity]]));
  try {
    for (const batch of set.batches) {
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
    }
  } finally {
    await session.release();
  }
  return ranges;
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
