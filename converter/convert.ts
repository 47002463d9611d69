/**
 * `edgeseg convert`: a trained fp32 model → a deployable variant `<parent version>-<precision>`.
 * Rewrites the graph (training-only layers out, BatchNorm folded, activations fused), quantizes
 * weights per the plan, measures the variant against the parent on a held-out set, enforces the
 * mIoU budget, and writes the variant with its card and SHA256SUMS. With `format` onnx or both
 * it also exports the rewritten graph to ONNX (fp32, fp16 weights, or int8 QDQ calibrated on
 * data), measures that model in onnxruntime against the same parent and budget, and writes it
 * beside (or, for onnx, instead of) the tfjs model.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, createLogger, tfjsModelOf, DatasetError, EdgesegError, type Logger, type ModelCard, type Precision } from '../core/index.js';
import { selectBackend, type TrainingBackend } from '../core/node/backends/select.js';
import { openDataset } from '../trainer/data/dataset.js';
import { codeRevision } from '../core/node/revision.js';
import { tf, tfl } from '../core/node/tfjs.js';
import { readModelDir, writeModelDir, type ExtraFile } from '../core/node/artifact_fs.js';
import { compare, predictMasks, type Comparison } from './compare.js';
import { graphFromArtifacts, graphToArtifacts, rewrite, type RewriteReport } from './fold.js';
import { searchMixed, type MixedResult } from './mixed.js';
import { checkPrecision, encodeWeights, planBytes, planDtypes, precisionOf, PRECISION_DTYPE, type DtypeOverride, type WeightDtype } from './quantize.js';
import { resolveModelRef } from '../core/node/registry.js';
import { ONNX_OPSET, exportOnnx } from './onnx/export.js';
import { calibrateActivations, predictMasksOnnx } from './onnx/ort_eval.js';
import type { OnnxWeightEncoding } from './onnx/weights.js';

export interface ConvertOptions {
  /** Parent model: a directory or registry ref. Must be an fp32 model. */
  model: string;
  /** @default 'uint8' */
  precision?: Precision | string;
  /** Per-weight dtype globs applied after the precision's default (later wins). */
  overrides?: DtypeOverride[];
  /** Held-out set (dataset spec; its validation split is used). Required for the gate and `mixed`. */
  eval?: string;
  /** Fail when the variant's mIoU is more than this below the parent's (0–1 scale, 0.01 = one point). */
  maxMiouDrop?: number;
  /** `mixed`: group weights by layer or by block for the sensitivity search. @default 'layer' */
  groupBy?: 'layer' | 'block';
  /** Registry root the variant is written under. @default 'models' */
  out?: string;
  /** Backend for evaluation. @default 'auto' */
  backend?: TrainingBackend;
  /** Replace an existing variant of the same name. @default false */
  force?: boolean;
  /**
   * Artifacts to write: the tfjs layers model, an ONNX model (`model.onnx` for fp32,
   * `model.fp16.onnx`, `model.int8.onnx` for uint8: int8 QDQ), or both. @default 'tfjs'
   */
  format?: ModelFormat | string;
  /**
   * Data set (spec; its training split) whose samples calibrate the activation ranges of an int8
   * ONNX model. @default the training split of `eval`
   */
  calibrate?: string;
  /** Samples of the calibration set used. @default 64 */
  calibrationSamples?: number;
  log?: Logger;
  onProgress?(message: string): void;
}

export const MODEL_FORMATS = ['tfjs', 'onnx', 'both'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** ONNX weight encoding and file of each precision an ONNX model can be exported at. */
export const ONNX_VARIANTS: Partial<Record<Precision, { weights: OnnxWeightEncoding; file: string }>> = {
  fp32: { weights: 'float32', file: 'model.onnx' },
  fp16: { weights: 'float16', file: 'model.fp16.onnx' },
  uint8: { weights: 'int8', file: 'model.int8.onnx' },
};

/** The ONNX model of a converted variant, as recorded in `card.conversion.onnx`. */
export interface OnnxVariantInfo {
  file: string;
  weights: OnnxWeightEncoding;
  opset: number;
  bytes: number;
  /** ONNX file bytes ÷ the fp32 parent's weight bytes. */
  ratioVsParent: number;
  comparison: Comparison | null;
  calibration: { spec: string; samples: number } | null;
}

export interface ConvertResult {
  dir: string;
  /** The ONNX model written, when the format includes ONNX. */
  onnx: OnnxVariantInfo | null;
  card: ModelCard;
  rewrites: RewriteReport;
  comparison: Comparison | null;
  mixed: MixedResult | null;
  /** Weight bytes of the fp32 parent, for size ratios. */
  parentBytes: number;
  seconds: number;
}

/** The variant lost more accuracy than `--max-miou-drop` allows; nothing was written. */
export class AccuracyGateError extends EdgesegError {
  constructor(message: string) {
    super('ACCURACY_GATE_FAILED', message);
  }
}

/** Mixed needs a non-default mIoU budget: this one is used when `--max-miou-drop` is not given. */
export const DEFAULT_MIXED_BUDGET = 0.005;

async function modelFromArtifacts(topology: object, specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Promise<LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: specs, weightData: data }));
}

export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const started = Date.now();
  const log = options.log ?? createLogger('converter');
  const progress = options.onProgress ?? ((m: string) => log.info(m));
  const precision = checkPrecision(options.precision ?? 'uint8');
  const out = resolve(options.out ?? 'models');
  if (options.maxMiouDrop !== undefined && !(options.maxMiouDrop >= 0 && options.maxMiouDrop <= 1)) {
    throw new ConfigError(`--max-miou-drop must be in [0, 1] (0.01 = one mIoU point), got ${options.maxMiouDrop}`);
  }
  if ((options.maxMiouDrop !== undefined || precision === 'mixed') && !options.eval) {
    throw new ConfigError(`${precision === 'mixed' ? '--precision mixed' : '--max-miou-drop'} needs a held-out set: --eval <dataset spec>`);
  }
  if (precision === 'mixed' && options.overrides?.length) throw new ConfigError('--precision mixed chooses dtypes itself; drop the --quantize-* patterns');

  const format = options.format ?? 'tfjs';
  if (!(MODEL_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`--format must be one of ${MODEL_FORMATS.join('|')}, got '${format}'`);
  const onnxVariant = format === 'tfjs' ? null : ONNX_VARIANTS[precision];
  if (format !== 'tfjs' && !onnxVariant) {
    throw new ConfigError(`--format ${format} exports ONNX at ${Object.keys(ONNX_VARIANTS).join('|')}; --precision ${precision} has no ONNX form (use --format tfjs)`);
  }
  if (onnxVariant?.weights === 'int8' && !options.eval && !options.calibrate) {
    throw new ConfigError('an int8 ONNX model needs activation ranges calibrated on data: give --calibrate <dataset spec> (or --eval, whose training split is then used)');
  }
  if (format === 'onnx' && options.overrides?.length) throw new ConfigError('--quantize-* patterns apply to tfjs weights; the ONNX model quantizes every weight per --precision (drop them or use --format both)');

  const parent = await readModelDir(resolveModelRef(options.model, out));
  if (parent.card.precision !== 'fp32' || parent.card.version.includes('-')) {
    throw new ConfigError(`${parent.dir} is already a converted variant (${parent.card.version}); convert from its parent ${parent.card.parentVersion}`);
  }
  const parentJson = tfjsModelOf(parent, parent.dir);
  const graph = graphFromArtifacts(parentJson, parent.weightData);
  const rewrites = rewrite(graph);
  progress(`rewrites: ${Object.entries(rewrites).map(([rule, changes]) => `${rule} ×${changes.length}`).join(', ')}`);
  const folded = graphToArtifacts(graph);
  const names = [...graph.weights.keys()];
  const fixedPlan = precision === 'mixed' ? null : planDtypes(names, PRECISION_DTYPE[precision], options.overrides);

  const backend = await selectBackend(options.backend ?? 'auto', log);
  const dataset = options.eval ? await openDataset(options.eval, { splits: ['held-out'], log: log.child('data') }) : null;
  const calibration = onnxVariant?.weights === 'int8' ? await openDataset(options.calibrate ?? options.eval!, { splits: ['train'], log: log.child('calibration') }) : null;
  let foldedModel: LayersModel | null = null;
  let parentModel: LayersModel | null = null;
  let variantModel: LayersModel | null = null;
  try {
    if (dataset && dataset.heldOut.size === 0) throw new DatasetError('DATASET_EMPTY', `held-out set ${dataset.spec} is empty (its ${dataset.heldOutSplit} split has no sample)`);
    let parentEval: Awaited<ReturnType<typeof predictMasks>> | null = null;
    if (dataset) {
      parentModel = await modelFromArtifacts(parentJson.modelTopology as object, parentJson.weightsManifest.flatMap((g) => g.weights), parent.weightData);
      parentEval = await predictMasks(parentModel, dataset.heldOut);
      progress(`parent ${parent.card.name}@${parent.card.version}: mIoU ${(100 * parentEval.metrics.miou).toFixed(2)}% on ${dataset.heldOut.size} held-out images`);
    }

    let plan: Map<string, WeightDtype>;
    let mixed: MixedResult | null = null;
    if (precision === 'mixed') {
      foldedModel = await modelFromArtifacts(folded.modelTopology as object, folded.weightSpecs!, folded.weightData as ArrayBuffer);
      mixed = await searchMixed(foldedModel, graph.weights, graph.shapes, dataset!.heldOut, {
        budget: options.maxMiouDrop ?? DEFAULT_MIXED_BUDGET,
        parentMiou: parentEval!.metrics.miou,
        groupBy: options.groupBy,
        onProgress: progress,
      });
      plan = mixed.plan;
      progress(`mixed: ${mixed.kept.length} of ${new Set(names.map((n) => n.slice(0, n.lastIndexOf('/')))).size} layers kept wide, ${(planBytes(graph.shapes, plan) / 1024).toFixed(0)} KiB, ${mixed.trials} trials`);
    } else {
      plan = fixedPlan!;
    }
    const encoded = encodeWeights(graph.weights, graph.shapes, plan);
    variantModel = await modelFromArtifacts(folded.modelTopology as object, encoded.specs, encoded.data);

    let comparison: Comparison | null = null;
    // An ONNX-only variant is gated on the ONNX model below; its tfjs weights are never written.
    if (dataset && parentEval && format !== 'onnx') {
      comparison = compare(parentEval, await predictMasks(variantModel, dataset.heldOut));
      const drop = -comparison.delta.miou;
      progress(`variant: mIoU ${(100 * comparison.variant.miou).toFixed(2)}% (${comparison.delta.miou >= 0 ? '+' : ''}${(100 * comparison.delta.miou).toFixed(2)} points), mask agreement ${(100 * comparison.maskAgreement).toFixed(2)}%`);
      const budget = options.maxMiouDrop ?? (precision === 'mixed' ? DEFAULT_MIXED_BUDGET : undefined);
      if (budget !== undefined && drop > budget) {
        throw new AccuracyGateError(
          `${precisionOf(plan)} variant loses ${(100 * drop).toFixed(2)} mIoU points on ${dataset.spec} (${(100 * parentEval.metrics.miou).toFixed(2)}% → ${(100 * comparison.variant.miou).toFixed(2)}%), more than the allowed ${(100 * budget).toFixed(2)}; nothing was written. Try --precision mixed, a wider dtype, or a larger --max-miou-drop.`,
        );
      }
    }

    let onnx: OnnxVariantInfo | null = null;
    const extras: ExtraFile[] = [];
    if (onnxVariant) {
      let ranges: Map<string, [number, number]> | undefined;
      let calibrated: OnnxVariantInfo['calibration'] = null;
      if (calibration) {
        if (calibration.train.size === 0) throw new DatasetError('DATASET_EMPTY', `calibration set ${calibration.spec} has no training sample`);
        const samples = Math.min(calibration.train.size, options.calibrationSamples ?? 64);
        ranges = await calibrateActivations(graph, calibration.train, samples);
        calibrated = { spec: `${calibration.spec}#train`, samples };
        progress(`onnx: activation ranges of ${ranges.size} tensors calibrated on ${samples} samples of ${calibration.spec}`);
      }
      const exported = exportOnnx(graph, { weights: onnxVariant.weights, activationRanges: ranges, metadata: { name: parent.card.name, parentVersion: parent.card.version } });
      let onnxComparison: Comparison | null = null;
      if (dataset && parentEval) {
        onnxComparison = compare(parentEval, await predictMasksOnnx(exported.bytes, dataset.heldOut));
        const drop = -onnxComparison.delta.miou;
        progress(`onnx ${onnxVariant.file}: mIoU ${(100 * onnxComparison.variant.miou).toFixed(2)}% (${onnxComparison.delta.miou >= 0 ? '+' : ''}${(100 * onnxComparison.delta.miou).toFixed(2)} points), mask agreement ${(100 * onnxComparison.maskAgreement).toFixed(2)}%`);
        const budget = options.maxMiouDrop;
        if (budget !== undefined && drop > budget) {
          throw new AccuracyGateError(
            `ONNX ${onnxVariant.weights} model loses ${(100 * drop).toFixed(2)} mIoU points on ${dataset.spec} (${(100 * parentEval.metrics.miou).toFixed(2)}% → ${(100 * onnxComparison.variant.miou).toFixed(2)}%), more than the allowed ${(100 * budget).toFixed(2)}; nothing was written. Try a wider --precision, a larger --calibrate set, or a larger --max-miou-drop.`,
          );
        }
      }
      onnx = {
        file: onnxVariant.file,
        weights: onnxVariant.weights,
        opset: ONNX_OPSET,
        bytes: exported.bytes.byteLength,
        ratioVsParent: exported.bytes.byteLength / parent.card.bytes,
        comparison: onnxComparison,
        calibration: calibrated,
      };
      extras.push({ path: onnxVariant.file, data: exported.bytes });
    }

    const finalPrecision = precisionOf(plan);
    const version = `${parent.card.version}-${finalPrecision}`;
    const target = join(out, parent.card.name, version);
    if (existsSync(target) && !options.force) throw new ConfigError(`${target} already exists; pass --force to replace it`);
    const staging = join(out, parent.card.name, '.runs', version);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const served = format === 'onnx' ? (onnx?.comparison ?? null) : comparison;
    const m = served?.variant;
    const card = await writeModelDir(
      staging,
      { ...folded, weightSpecs: encoded.specs, weightData: encoded.data },
      {
        name: parent.card.name,
        version,
        parentVersion: parent.card.version,
        created: new Date().toISOString(),
        architecture: parent.card.architecture,
        precision: finalPrecision,
        metrics: m ? { pixelAccuracy: m.pixelAccuracy, miou: m.miou, perClassIou: m.perClassIou, dice: m.dice } : null,
        ...(served ? { deltaVsParent: { miou: served.delta.miou, pixelAccuracy: served.delta.pixelAccuracy, maskAgreement: served.maskAgreement } } : {}),
        dataset: parent.card.dataset,
        evaluation: dataset ? { spec: `${dataset.spec}#${dataset.heldOutSplit}`, manifestHash: dataset.manifest.splitHashes[dataset.heldOutSplit], samples: dataset.heldOut.size } : null,
        training: parent.card.training,
        conversion: {
          precision,
          overrides: options.overrides ?? [],
          rewrites: Object.fromEntries(Object.entries(rewrites).map(([k, v]) => [k, v.length])),
          maxMiouDrop: options.maxMiouDrop ?? null,
          parentMetrics: served?.parent ?? null,
          format,
          ...(onnx
            ? {
                onnx: {
                  file: onnx.file,
                  weights: onnx.weights,
                  opset: onnx.opset,
                  bytes: onnx.bytes,
                  ratioVsParent: onnx.ratioVsParent,
                  calibration: onnx.calibration,
                  ...(onnx.comparison
                    ? { metrics: onnx.comparison.variant, deltaVsParent: { miou: onnx.comparison.delta.miou, pixelAccuracy: onnx.comparison.delta.pixelAccuracy, maskAgreement: onnx.comparison.maskAgreement } }
                    : {}),
                },
              }
            : {}),
          ...(mixed ? { mixed: { budget: options.maxMiouDrop ?? DEFAULT_MIXED_BUDGET, kept: mixed.kept, trials: mixed.trials, sensitivity: mixed.sensitivity.slice(0, 20) } } : {}),
          seconds: (Date.now() - started) / 1000,
        },
        backend: { name: backend.name, ...(backend.adapter ? { adapter: backend.adapter } : {}) },
        codeRevision: codeRevision(),
      },
      extras,
      format === 'onnx' ? { tfjs: false, weightDtypes: Object.fromEntries(names.map((n) => [n, onnxVariant!.weights])) } : {},
    );
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { dir: target, onnx, card, rewrites, comparison, mixed, parentBytes: parent.card.bytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    for (const mdl of [foldedModel, parentModel, variantModel]) mdl?.dispose();
    await dataset?.close();
    await calibration?.close();
  }
}
