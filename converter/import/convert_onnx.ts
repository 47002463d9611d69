/**
 * `edgeseg convert` of an imported ONNX model (`--precision uint8`): the foreign graph quantized to
 * static int8 QDQ (onnx_qdq.ts) with activation ranges calibrated on data run through the model's
 * own contract (names, layout, normalization), then measured against the float model in ONNX
 * Runtime on the held-out set and gated on mIoU like every edgeseg variant. The variant is
 * `<parent>-uint8` with `model.int8.onnx`, the parent's contract and source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError, ConfusionMatrix, geometryOf, isOnnxOnly, normalizationOf, onnxFileOf, OrtSession, type Logger, type ModelCard, type ModelContract, type ModelGeometry, type SegmentationMetrics } from '../../core/index.js';
import { readModelDir, writeModelDir } from '../../core/node/artifact_fs.js';
import { DEFAULT_MODELS_ROOT, publishRun, resolveModelRef, stageVersion } from '../../core/node/registry.js';
import { codeRevision } from '../../core/node/revision.js';
import { openDataset, type SampleSet } from '../../trainer/data/dataset.js';
import { batches } from '../../trainer/data/pipeline.js';
import { AccuracyGateError } from '../../core/errors.js';
import { activationTensors, exposeTensors, parseForeignOnnx, qdqTargets, quantizeQdq } from './onnx_qdq.js';

export interface ConvertImportedOnnxOptions {
  /** The imported ONNX version: a directory or registry ref. */
  model: string;
  /** Held-out data (spec) the gate measures on; its training split calibrates unless `calibrate` is given. */
  eval: string;
  /** Data set (spec) whose training split calibrates activation ranges. @default eval */
  calibrate?: string;
  /** Calibration samples used. @default 64 */
  calibrationSamples?: number;
  /** Refuse the variant when mIoU falls more than this (0.01 = one point). @default 0.01 */
  maxMiouDrop?: number;
  /** Registry root. @default 'models' */
  models?: string;
  /** Replace an existing variant. @default false */
  force?: boolean;
  log?: Logger;
  onProgress?(message: string): void;
}

export interface ImportedOnnxConversion {
  dir: string;
  card: ModelCard;
  parent: SegmentationMetrics;
  variant: SegmentationMetrics;
  maskAgreement: number;
  /** Convolutions quantized, activation tensors calibrated, calibration samples. */
  convolutions: number;
  tensors: number;
  samples: number;
  parentBytes: number;
}

/** Whether a version is an imported ONNX model (what this conversion takes instead of the tfjs path). */
export function isImportedOnnx(card: ModelCard): boolean {
  return card.source?.format === 'onnx' && isOnnxOnly(card);
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

async function masksOf(bytes: Uint8Array, contract: ModelContract, set: SampleSet): Promise<{ metrics: SegmentationMetrics; masks: Uint8Array[] }> {
  const session = await OrtSession.create(ort, bytes, { contract });
  const geometry = geometryOf(contract);
  const confusion = new ConfusionMatrix(geometry.classes);
  const masks: Uint8Array[] = [];
  try {
    for await (const batch of batches(set, { batchSize: 8, size: geometry })) {
      const out = await session.run(batch.images, batch.size);
      const ids = argmaxNhwc(out[contract.output.name] as Float32Array, batch.size, geometry);
      confusion.accumulate(batch.masks, ids);
      masks.push(ids);
    }
  } finally {
    await session.release();
  }
  return { metrics: confusion.metrics(), masks };
}

export async function convertImportedOnnx(o: ConvertImportedOnnxOptions): Promise<ImportedOnnxConversion> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  const models = o.models ?? DEFAULT_MODELS_ROOT;
  const parentDir = resolveModelRef(o.model, models);
  const { card } = await readModelDir(parentDir);
  if (!isImportedOnnx(card)) throw new ConfigError(`${parentDir} is not an imported ONNX model`);
  const file = onnxFileOf(card)!;
  const bytes = new Uint8Array(readFileSync(join(parentDir, file)));
  const model = parseForeignOnnx(bytes);
  const outputName = card.contract.output.name;
  const targets = qdqTargets(model);
  if (targets.length === 0) throw new ConfigError(`${file} has no Conv or ConvTranspose with float weights to quantize`);
  const tensors = activationTensors(targets, outputName);
  const normalization = normalizationOf(card);
  const print = (line: string) => o.log?.debug(line);
  // Samples at the model's own size, with labels of its classes.
  const geometry = geometryOf(card);
  const heldOut = await openDataset(o.eval, { normalization, print, geometry });
  const calibration = o.calibrate ? await openDataset(o.calibrate, { normalization, print, geometry }) : heldOut;
  try {
    if (heldOut.heldOut.size === 0) throw new ConfigError(`--eval ${o.eval} has no held-out samples`);
    const calibrationSet = calibration.train.size > 0 ? calibration.train : calibration.heldOut;
    const maxSamples = o.calibrationSamples ?? 64;
    const ranges = new Map<string, [number, number]>(tensors.map((t) => [t, [Infinity, -Infinity]]));
    const probe = await OrtSession.create(ort, exposeTensors(model, tensors), { contract: card.contract });
    let samples = 0;
    try {
      for await (const batch of batches(calibrationSet, { batchSize: 8, size: geometry })) {
        if (samples >= maxSamples) break;
        const values = await probe.run(batch.images, batch.size, tensors);
        for (const t of tensors) {
          const r = ranges.get(t)!;
          for (const v of values[t] as Float32Array) {
            if (v < r[0]) r[0] = v;
            if (v > r[1]) r[1] = v;
          }
        }
        samples += batch.size;
      }
    } finally {
      await probe.release();
    }
    progress(`onnx: ${targets.length} convolutions to int8, activation ranges of ${tensors.length} tensors calibrated on ${samples} samples of ${calibration.spec}`);
    const qdq = quantizeQdq(model, ranges, outputName);
    const parent = await masksOf(bytes, card.contract, heldOut.heldOut);
    const variant = await masksOf(qdq, card.contract, heldOut.heldOut);
    let agree = 0;
    let total = 0;
    variant.masks.forEach((m, b) => m.forEach((id, i) => ((agree += id === parent.masks[b][i] ? 1 : 0), total++)));
    const maskAgreement = agree / Math.max(1, total);
    const drop = parent.metrics.miou - variant.metrics.miou;
    const budget = o.maxMiouDrop ?? 0.01;
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    progress(`model.int8.onnx: mIoU ${pct(parent.metrics.miou)} → ${pct(variant.metrics.miou)}, mask agreement ${pct(maskAgreement)}`);
    if (drop > budget) {
      throw new AccuracyGateError(
        `${card.name}@${card.version} int8 loses ${(100 * drop).toFixed(2)} mIoU points on ${heldOut.spec} (${pct(parent.metrics.miou)} → ${pct(variant.metrics.miou)}), more than the allowed ${(100 * budget).toFixed(2)}; nothing was written. Calibrate on more representative data (--calibrate) or keep the fp32 model.`,
      );
    }
    const version = `${card.version}-uint8`;
    const m = variant.metrics;
    const written = await writeModelDir(
      stageVersion(models, card.name, version),
      { modelTopology: {}, weightSpecs: [] },
      {
        name: card.name,
        version,
        parentVersion: card.version,
        created: new Date().toISOString(),
        architecture: card.architecture,
        metrics: { pixelAccuracy: m.pixelAccuracy, miou: m.miou, perClassIou: m.perClassIou, dice: m.dice },
        deltaVsParent: { miou: -drop, pixelAccuracy: m.pixelAccuracy - parent.metrics.pixelAccuracy, maskAgreement },
        dataset: card.dataset,
        evaluation: { spec: `${heldOut.spec}#${heldOut.heldOutSplit}`, manifestHash: heldOut.manifest.splitHashes[heldOut.heldOutSplit], samples: heldOut.heldOut.size },
        training: null,
        conversion: {
          precision: 'uint8',
          format: 'onnx',
          onnx: { file: 'model.int8.onnx', weights: 'int8 per output channel (QDQ)', activations: 'uint8, calibrated', convolutions: targets.length, tensors: tensors.length },
          calibration: { spec: calibration.spec, samples },
          maxMiouDrop: budget,
          seconds: (performance.now() - t0) / 1000,
        },
        source: card.source,
        backend: { name: 'onnxruntime-node' },
        codeRevision: codeRevision(),
        precision: 'uint8',
        normalization,
      },
      [{ path: 'model.int8.onnx', data: qdq }],
      { tfjs: false, weightDtypes: Object.fromEntries(targets.map((t) => [t.weight.name, 'int8'])), contract: card.contract },
    );
    const dir = await publishRun(models, card.name, version, { replace: o.force });
    return { dir, card: written, parent: parent.metrics, variant: variant.metrics, maskAgreement, convolutions: targets.length, tensors: tensors.length, samples, parentBytes: card.bytes };
  } finally {
    await heldOut.close();
    if (calibration !== heldOut) await calibration.close();
  }
}
