/**
 * `edgeseg convert`: a trained fp32 model → a deployable variant `<parent version>-<precision>`.
 * Rewrites the graph (training-only layers out, BatchNorm folded, activations fused), quantizes
 * weights per the plan, measures the variant against the parent on a held-out set, enforces the
 * mIoU budget, and writes the variant with its card and SHA256SUMS.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, createLogger, DatasetError, EdgesegError, type Logger, type ModelCard, type Precision } from '../core/index.js';
import { selectBackend, type TrainingBackend } from '../trainer/backends/select.js';
import { openDataset } from '../trainer/data/dataset.js';
import { codeRevision } from '../trainer/revision.js';
import { tf, tfl } from '../trainer/tfjs.js';
import { readModelDir, writeModelDir } from './artifact_fs.js';
import { compare, predictMasks, type Comparison } from './compare.js';
import { graphFromArtifacts, graphToArtifacts, rewrite, type RewriteReport } from './fold.js';
import { searchMixed, type MixedResult } from './mixed.js';
import { checkPrecision, encodeWeights, planBytes, planDtypes, precisionOf, PRECISION_DTYPE, type DtypeOverride, type WeightDtype } from './quantize.js';
import { resolveModelRef } from './registry.js';

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
  log?: Logger;
  onProgress?(message: string): void;
}

export interface ConvertResult {
  dir: string;
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

  const parent = await readModelDir(resolveModelRef(options.model, out));
  if (parent.card.precision !== 'fp32' || parent.card.version.includes('-')) {
    throw new ConfigError(`${parent.dir} is already a converted variant (${parent.card.version}); convert from its parent ${parent.card.parentVersion}`);
  }
  const graph = graphFromArtifacts(parent.modelJson, parent.weightData);
  const rewrites = rewrite(graph);
  progress(`rewrites: ${Object.entries(rewrites).map(([rule, changes]) => `${rule} ×${changes.length}`).join(', ')}`);
  const folded = graphToArtifacts(graph);
  const names = [...graph.weights.keys()];
  const fixedPlan = precision === 'mixed' ? null : planDtypes(names, PRECISION_DTYPE[precision], options.overrides);

  const backend = await selectBackend(options.backend ?? 'auto', log);
  const dataset = options.eval ? await openDataset(options.eval, { splits: ['val'], log: log.child('data') }) : null;
  let foldedModel: LayersModel | null = null;
  let parentModel: LayersModel | null = null;
  let variantModel: LayersModel | null = null;
  try {
    if (dataset && dataset.val.size === 0) throw new DatasetError('DATASET_EMPTY', `held-out set ${dataset.spec} is empty (its validation split has no sample)`);
    let parentEval: Awaited<ReturnType<typeof predictMasks>> | null = null;
    if (dataset) {
      parentModel = await modelFromArtifacts(parent.modelJson.modelTopology as object, parent.modelJson.weightsManifest.flatMap((g) => g.weights), parent.weightData);
      parentEval = await predictMasks(parentModel, dataset.val);
      progress(`parent ${parent.card.name}@${parent.card.version}: mIoU ${(100 * parentEval.metrics.miou).toFixed(2)}% on ${dataset.val.size} held-out images`);
    }

    let plan: Map<string, WeightDtype>;
    let mixed: MixedResult | null = null;
    if (precision === 'mixed') {
      foldedModel = await modelFromArtifacts(folded.modelTopology as object, folded.weightSpecs!, folded.weightData as ArrayBuffer);
      mixed = await searchMixed(foldedModel, graph.weights, graph.shapes, dataset!.val, {
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
    if (dataset && parentEval) {
      comparison = compare(parentEval, await predictMasks(variantModel, dataset.val));
      const drop = -comparison.delta.miou;
      progress(`variant: mIoU ${(100 * comparison.variant.miou).toFixed(2)}% (${comparison.delta.miou >= 0 ? '+' : ''}${(100 * comparison.delta.miou).toFixed(2)} points), mask agreement ${(100 * comparison.maskAgreement).toFixed(2)}%`);
      const budget = options.maxMiouDrop ?? (precision === 'mixed' ? DEFAULT_MIXED_BUDGET : undefined);
      if (budget !== undefined && drop > budget) {
        throw new AccuracyGateError(
          `${precisionOf(plan)} variant loses ${(100 * drop).toFixed(2)} mIoU points on ${dataset.spec} (${(100 * parentEval.metrics.miou).toFixed(2)}% → ${(100 * comparison.variant.miou).toFixed(2)}%), more than the allowed ${(100 * budget).toFixed(2)}; nothing was written. Try --precision mixed, a wider dtype, or a larger --max-miou-drop.`,
        );
      }
    }

    const finalPrecision = precisionOf(plan);
    const version = `${parent.card.version}-${finalPrecision}`;
    const target = join(out, parent.card.name, version);
    if (existsSync(target) && !options.force) throw new ConfigError(`${target} already exists; pass --force to replace it`);
    const staging = join(out, parent.card.name, '.runs', version);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const m = comparison?.variant;
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
        ...(comparison ? { deltaVsParent: { miou: comparison.delta.miou, pixelAccuracy: comparison.delta.pixelAccuracy, maskAgreement: comparison.maskAgreement } } : {}),
        dataset: parent.card.dataset,
        evaluation: dataset ? { spec: `${dataset.spec}#val`, manifestHash: dataset.manifest.splitHashes.val, samples: dataset.val.size } : null,
        training: parent.card.training,
        conversion: {
          precision,
          overrides: options.overrides ?? [],
          rewrites: Object.fromEntries(Object.entries(rewrites).map(([k, v]) => [k, v.length])),
          maxMiouDrop: options.maxMiouDrop ?? null,
          parentMetrics: comparison?.parent ?? null,
          ...(mixed ? { mixed: { budget: options.maxMiouDrop ?? DEFAULT_MIXED_BUDGET, kept: mixed.kept, trials: mixed.trials, sensitivity: mixed.sensitivity.slice(0, 20) } } : {}),
          seconds: (Date.now() - started) / 1000,
        },
        backend: { name: backend.name, ...(backend.adapter ? { adapter: backend.adapter } : {}) },
        codeRevision: codeRevision(),
      },
    );
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { dir: target, card, rewrites, comparison, mixed, parentBytes: parent.card.bytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    for (const mdl of [foldedModel, parentModel, variantModel]) mdl?.dispose();
    await dataset?.close();
  }
}
