/**
 * `edgeseg convert`: a trained fp32 model → a deployable variant `<parent version>-<precision>`,
 * in named steps: check the options (`checkOptions`), rewrite the parent's graph (training-only
 * layers out, BatchNorm folded, activations fused: `rewriteParent`), plan and encode the weights
 * (`planWeights`; `mixed` searches the cheapest plan within budget), measure the variant against
 * the parent on a held-out set behind the one mIoU gate (`accuracyGate`), and with `format` onnx
 * or both export the rewritten graph to ONNX (fp32, fp16 weights, or int8 QDQ calibrated on data)
 * and gate that model in ONNX Runtime the same way (`exportOnnxModel`). The card is built by
 * `variantCard`; the files are staged and published through the registry (core/node/registry.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, createLogger, tfjsModelOf, DatasetError, normalizationOf, type Logger, type ModelCard, type Precision } from '../core/index.js';
import { selectBackend, type TrainingBackend } from '../core/node/backends/select.js';
import { AccuracyGateError } from '../core/errors.js';
import { openDataset } from '../trainer/data/dataset.js';
import { codeRevision } from '../core/node/revision.js';
import { tf, tfl } from '../core/node/tfjs.js';
import { readModelDir, writeModelDir, type CardDraft, type ExtraFile } from '../core/node/artifact_fs.js';
import { compare, predictMasks, type Comparison } from './compare.js';
import { graphFromArtifacts, graphToArtifacts, rewrite, type RewriteReport } from './fold.js';
import { searchMixed, type MixedResult } from './mixed.js';
import { checkPrecision, encodeWeights, planBytes, planDtypes, precisionOf, PRECISION_DTYPE, type DtypeOverride, type WeightDtype } from './quantize.js';
import { publishRun, resolveModelRef, stageVersion } from '../core/node/registry.js';
import { ONNX_OPSET, exportOnnx } from './onnx/export.js';
import { calibrateActivations, predictMasksOnnx } from './onnx/ort_eval.js';
import type { OnnxWeightEncoding } from './onnx/weights.js';

/** What `convert` makes from a trained model and how it is gated. */
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
  /** Registry root: the parent is resolved in it and the variant written under it. @default 'models' */
  models?: string;
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

/** Artifacts a conversion writes: tfjs layers, ONNX, or both. */
export const MODEL_FORMATS = ['tfjs', 'onnx', 'both'] as const;
/** One of MODEL_FORMATS. */
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

/** The variant `convert` wrote, its card and how it compares with its parent. */
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

// convert()'s gate error, defined with every named error in core/errors.ts.
export { AccuracyGateError };

/** Mixed needs a non-default mIoU budget: this one is used when `--max-miou-drop` is not given. */
export const DEFAULT_MIXED_BUDGET = 0.005;

async function modelFromArtifacts(topology: object, specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Promise<LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: specs, weightData: data }));
}

type MaskEval = Awaited<ReturnType<typeof predictMasks>>;
type Dataset = Awaited<ReturnType<typeof openDataset>>;
type Progress = (message: string) => void;
type OnnxVariant = NonNullable<(typeof ONNX_VARIANTS)[Precision]>;

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** What the options ask for, checked against each other before any work (each error names the flag and the fix). */
function checkOptions(options: ConvertOptions): { precision: Precision; models: string; format: ModelFormat; onnxVariant: OnnxVariant | null } {
  const precision = checkPrecision(options.precision ?? 'uint8');
  if (options.maxMiouDrop !== undefined && !(options.maxMiouDrop >= 0 && options.maxMiouDrop <= 1)) {
    throw new ConfigError(`--max-miou-drop must be in [0, 1] (0.01 = one mIoU point), got ${options.maxMiouDrop}`);
  }
  if ((options.maxMiouDrop !== undefined || precision === 'mixed') && !options.eval) {
    throw new ConfigError(`${precision === 'mixed' ? '--precision mixed' : '--max-miou-drop'} needs a held-out set: --eval <dataset spec>`);
  }
  if (precision === 'mixed' && options.overrides?.length) throw new ConfigError('--precision mixed chooses dtypes itself; drop the --quantize-* patterns');
  const format = options.format ?? 'tfjs';
  if (!(MODEL_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`--format must be one of ${MODEL_FORMATS.join('|')}, got '${format}'`);
  const onnxVariant = format === 'tfjs' ? null : (ONNX_VARIANTS[precision] ?? null);
  if (format !== 'tfjs' && !onnxVariant) {
    throw new ConfigError(`--format ${format} exports ONNX at ${Object.keys(ONNX_VARIANTS).join('|')}; --precision ${precision} has no ONNX form (use --format tfjs)`);
  }
  if (onnxVariant?.weights === 'int8' && !options.eval && !options.calibrate) {
    throw new ConfigError('an int8 ONNX model needs activation ranges calibrated on data: give --calibrate <dataset spec> (or --eval, whose training split is then used)');
  }
  if (format === 'onnx' && options.overrides?.length) throw new ConfigError('--quantize-* patterns apply to tfjs weights; the ONNX model quantizes every weight per --precision (drop them or use --format both)');
  return { precision, models: resolve(options.models ?? 'models'), format: format as ModelFormat, onnxVariant };
}

/** Step 1: the fp32 parent and its graph with training-only layers out, BatchNorm folded, activations fused. */
async function rewriteParent(ref: string, models: string, progress: Progress) {
  const parent = await readModelDir(resolveModelRef(ref, models));
  if (parent.card.precision !== 'fp32' || parent.card.version.includes('-')) {
    throw new ConfigError(`${parent.dir} is already a converted variant (${parent.card.version}); convert from its parent ${parent.card.parentVersion}`);
  }
  const parentJson = tfjsModelOf(parent, parent.dir);
  const graph = graphFromArtifacts(parentJson, parent.weightData);
  const rewrites = rewrite(graph);
  progress(`rewrites: ${Object.entries(rewrites).map(([rule, changes]) => `${rule} ×${changes.length}`).join(', ')}`);
  return { parent, parentJson, graph, rewrites, folded: graphToArtifacts(graph), names: [...graph.weights.keys()] };
}

/**
 * The accuracy gate, the one place the mIoU budget is enforced (on the tfjs variant and on the
 * ONNX model alike): a model's masks against the parent's on the held-out set. Past the budget it
 * throws AccuracyGateError before anything is written; `fix` says what to try instead.
 */
function accuracyGate(
  model: { label: string; subject: string },
  parentEval: MaskEval,
  variantEval: MaskEval,
  budget: number | undefined,
  heldOut: string,
  fix: string,
  progress: Progress,
): Comparison {
  const c = compare(parentEval, variantEval);
  progress(`${model.label}: mIoU ${pct(c.variant.miou)} (${c.delta.miou >= 0 ? '+' : ''}${(100 * c.delta.miou).toFixed(2)} points), mask agreement ${pct(c.maskAgreement)}`);
  const drop = -c.delta.miou;
  if (budget !== undefined && drop > budget) {
    throw new AccuracyGateError(
      `${model.subject} loses ${(100 * drop).toFixed(2)} mIoU points on ${heldOut} (${pct(parentEval.metrics.miou)} → ${pct(c.variant.miou)}), more than the allowed ${(100 * budget).toFixed(2)}; nothing was written. ${fix}`,
    );
  }
  return c;
}

/** Step 2: the weight dtype plan — the precision's (plus overrides), or for `mixed` the cheapest plan within budget. */
async function planWeights(
  options: ConvertOptions,
  precision: Precision,
  r: Awaited<ReturnType<typeof rewriteParent>>,
  heldOut: Dataset | null,
  parentEval: MaskEval | null,
  progress: Progress,
): Promise<{ plan: Map<string, WeightDtype>; mixed: MixedResult | null }> {
  if (precision !== 'mixed') return { plan: planDtypes(r.names, PRECISION_DTYPE[precision], options.overrides), mixed: null };
  const foldedModel = await modelFromArtifacts(r.folded.modelTopology as object, r.folded.weightSpecs!, r.folded.weightData as ArrayBuffer);
  try {
    const mixed = await searchMixed(foldedModel, r.graph.weights, r.graph.shapes, heldOut!.heldOut, {
      budget: options.maxMiouDrop ?? DEFAULT_MIXED_BUDGET,
      parentMiou: parentEval!.metrics.miou,
      groupBy: options.groupBy,
      onProgress: progress,
    });
    progress(`mixed: ${mixed.kept.length} of ${new Set(r.names.map((n) => n.slice(0, n.lastIndexOf('/')))).size} layers kept wide, ${(planBytes(r.graph.shapes, mixed.plan) / 1024).toFixed(0)} KiB, ${mixed.trials} trials`);
    return { plan: mixed.plan, mixed };
  } finally {
    foldedModel.dispose();
  }
}

/** Step 3 (format onnx|both): the ONNX model, calibrated for int8, measured in ONNX Runtime behind the gate. */
async function exportOnnxModel(
  options: ConvertOptions,
  variant: OnnxVariant,
  r: Awaited<ReturnType<typeof rewriteParent>>,
  calibration: Dataset | null,
  held: { set: Dataset; parentEval: MaskEval } | null,
  progress: Progress,
): Promise<{ info: OnnxVariantInfo; bytes: Uint8Array }> {
  let ranges: Map<string, [number, number]> | undefined;
  let calibrated: OnnxVariantInfo['calibration'] = null;
  if (calibration) {
    if (calibration.train.size === 0) throw new DatasetError('DATASET_EMPTY', `calibration set ${calibration.spec} has no training sample`);
    const samples = Math.min(calibration.train.size, options.calibrationSamples ?? 64);
    ranges = await calibrateActivations(r.graph, calibration.train, samples);
    calibrated = { spec: `${calibration.spec}#train`, samples };
    progress(`onnx: activation ranges of ${ranges.size} tensors calibrated on ${samples} samples of ${calibration.spec}`);
  }
  const exported = exportOnnx(r.graph, {
    weights: variant.weights,
    activationRanges: ranges,
    metadata: { name: r.parent.card.name, parentVersion: r.parent.card.version },
    normalization: normalizationOf(r.parent.card),
  });
  const comparison = held
    ? accuracyGate(
        { label: `onnx ${variant.file}`, subject: `ONNX ${variant.weights} model` },
        held.parentEval,
        await predictMasksOnnx(exported.bytes, held.set.heldOut),
        options.maxMiouDrop,
        held.set.spec,
        'Try a wider --precision, a larger --calibrate set, or a larger --max-miou-drop.',
        progress,
      )
    : null;
  return {
    info: { file: variant.file, weights: variant.weights, opset: ONNX_OPSET, bytes: exported.bytes.byteLength, ratioVsParent: exported.bytes.byteLength / r.parent.card.bytes, comparison, calibration: calibrated },
    bytes: exported.bytes,
  };
}

/** The variant's card: lineage, what was measured (the served format's comparison), and how it was converted. */
function variantCard(c: {
  options: ConvertOptions;
  precision: Precision;
  format: ModelFormat;
  version: string;
  finalPrecision: Precision;
  parent: ModelCard;
  rewrites: RewriteReport;
  served: Comparison | null;
  onnx: OnnxVariantInfo | null;
  mixed: MixedResult | null;
  heldOut: Dataset | null;
  backend: { name: string; adapter?: string };
  started: number;
}): CardDraft {
  const m = c.served?.variant;
  const onnx = c.onnx;
  return {
    name: c.parent.name,
    version: c.version,
    parentVersion: c.parent.version,
    created: new Date().toISOString(),
    architecture: c.parent.architecture,
    precision: c.finalPrecision,
    metrics: m ? { pixelAccuracy: m.pixelAccuracy, miou: m.miou, perClassIou: m.perClassIou, dice: m.dice, foregroundIou: m.foregroundIou } : null,
    ...(c.served ? { deltaVsParent: { miou: c.served.delta.miou, pixelAccuracy: c.served.delta.pixelAccuracy, maskAgreement: c.served.maskAgreement } } : {}),
    dataset: c.parent.dataset,
    evaluation: c.heldOut ? { spec: `${c.heldOut.spec}#${c.heldOut.heldOutSplit}`, manifestHash: c.heldOut.manifest.splitHashes[c.heldOut.heldOutSplit], samples: c.heldOut.heldOut.size } : null,
    training: c.parent.training,
    conversion: {
      precision: c.precision,
      overrides: c.options.overrides ?? [],
      rewrites: Object.fromEntries(Object.entries(c.rewrites).map(([k, v]) => [k, v.length])),
      maxMiouDrop: c.options.maxMiouDrop ?? null,
      parentMetrics: c.served?.parent ?? null,
      format: c.format,
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
      ...(c.mixed ? { mixed: { budget: c.options.maxMiouDrop ?? DEFAULT_MIXED_BUDGET, kept: c.mixed.kept, trials: c.mixed.trials, sensitivity: c.mixed.sensitivity.slice(0, 20) } } : {}),
      seconds: (Date.now() - c.started) / 1000,
    },
    backend: { name: c.backend.name, ...(c.backend.adapter ? { adapter: c.backend.adapter } : {}) },
    codeRevision: codeRevision(),
  };
}

/**
 * Converts a trained fp32 model into the variant `<parent version>-<precision>`: rewrite, plan
 * and encode the weights, gate the tfjs variant, export and gate the ONNX model, then stage the
 * variant's files and publish them into the registry.
 */
export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const started = Date.now();
  const log = options.log ?? createLogger('converter');
  const progress = options.onProgress ?? ((m: string) => log.info(m));
  const { precision, models, format, onnxVariant } = checkOptions(options);
  const r = await rewriteParent(options.model, models, progress);
  const { parent, parentJson, graph, folded, names } = r;
  // The variant keeps the parent's input normalization: its gate and calibration data get it, its card declares it.
  const normalization = normalizationOf(parent.card);

  const backend = await selectBackend(options.backend ?? 'auto', log);
  const heldOut = options.eval ? await openDataset(options.eval, { splits: ['held-out'], log: log.child('data'), normalization }) : null;
  const calibration = onnxVariant?.weights === 'int8' ? await openDataset(options.calibrate ?? options.eval!, { splits: ['train'], log: log.child('calibration'), normalization }) : null;
  let variantModel: LayersModel | null = null;
  try {
    let parentEval: MaskEval | null = null;
    if (heldOut) {
      if (heldOut.heldOut.size === 0) throw new DatasetError('DATASET_EMPTY', `held-out set ${heldOut.spec} is empty (its ${heldOut.heldOutSplit} split has no sample)`);
      const parentModel = await modelFromArtifacts(parentJson.modelTopology as object, parentJson.weightsManifest.flatMap((g) => g.weights), parent.weightData);
      try {
        parentEval = await predictMasks(parentModel, heldOut.heldOut);
      } finally {
        parentModel.dispose();
      }
      progress(`parent ${parent.card.name}@${parent.card.version}: mIoU ${pct(parentEval.metrics.miou)} on ${heldOut.heldOut.size} held-out images`);
    }
    const held = heldOut && parentEval ? { set: heldOut, parentEval } : null;

    const { plan, mixed } = await planWeights(options, precision, r, heldOut, parentEval, progress);
    const encoded = encodeWeights(graph.weights, graph.shapes, plan);
    variantModel = await modelFromArtifacts(folded.modelTopology as object, encoded.specs, encoded.data);
    // An ONNX-only variant is gated on the ONNX model below; its tfjs weights are never written.
    const comparison =
      held && format !== 'onnx'
        ? accuracyGate(
            { label: 'variant', subject: `${precisionOf(plan)} variant` },
            held.parentEval,
            await predictMasks(variantModel, held.set.heldOut),
            options.maxMiouDrop ?? (precision === 'mixed' ? DEFAULT_MIXED_BUDGET : undefined),
            held.set.spec,
            'Try --precision mixed, a wider dtype, or a larger --max-miou-drop.',
            progress,
          )
        : null;
    const onnx = onnxVariant ? await exportOnnxModel(options, onnxVariant, r, calibration, held, progress) : null;

    const finalPrecision = precisionOf(plan);
    const version = `${parent.card.version}-${finalPrecision}`;
    const target = join(models, parent.card.name, version);
    // Checked before writing; publishRun checks again under the registry lock.
    if (existsSync(target) && !options.force) throw new ConfigError(`${target} already exists; pass --force to replace it`);
    const draft = variantCard({
      options,
      precision,
      format,
      version,
      finalPrecision,
      parent: parent.card,
      rewrites: r.rewrites,
      served: format === 'onnx' ? (onnx?.info.comparison ?? null) : comparison,
      onnx: onnx?.info ?? null,
      mixed,
      heldOut,
      backend,
      started,
    });
    const extras: ExtraFile[] = onnx ? [{ path: onnx.info.file, data: onnx.bytes }] : [];
    const card = await writeModelDir(
      stageVersion(models, parent.card.name, version),
      { ...folded, weightSpecs: encoded.specs, weightData: encoded.data },
      { ...draft, normalization },
      extras,
      format === 'onnx' ? { tfjs: false, weightDtypes: Object.fromEntries(names.map((n) => [n, onnxVariant!.weights])) } : {},
    );
    const dir = await publishRun(models, parent.card.name, version, { replace: options.force });
    return { dir, onnx: onnx?.info ?? null, card, rewrites: r.rewrites, comparison, mixed, parentBytes: parent.card.bytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    variantModel?.dispose();
    await heldOut?.close();
    await calibration?.close();
  }
}
