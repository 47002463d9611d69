/**
 * `edgeseg convert`: any registry version → a deployable variant `<parent version>-<precision>`,
 * in one pipeline whatever the parent is: resolve the options (convert_options.ts), read and check
 * the parent, open the held-out and calibration sets (measure.ts), make the variant by the path
 * the parent needs, gated on mIoU by the one accuracy gate (measure.ts), record it with the one
 * card builder (variant_card.ts), then stage and publish it through the registry
 * (core/node/registry.ts). The paths: edgeseg's own graph (a model trained here, or an imported
 * Keras/tfjs one) is folded, quantized and optionally exported to ONNX (convert_graph.ts); an
 * imported ONNX or TFLite model, which has no tfjs graph, has its own graph quantized to int8 QDQ
 * (convert_imported.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createLogger, type ModelCard } from '../core/index.js';
import { normalizationOf } from '../core/contract.js';
import { readModelDir, writeModelDir } from '../core/node/artifact_fs.js';
import { selectBackend } from '../core/node/backends/select.js';
import { publishRun, resolveModelRef, stageVersion } from '../core/node/registry.js';
import { graphVariant } from './convert_graph.js';
import { checkImported, importedVariant, isImportedOnnx } from './convert_imported.js';
import { resolveConvertOptions, type ConvertOptions } from './convert_options.js';
import type { RewriteReport } from './fold.js';
import { openConversionData, type Comparison } from './measure.js';
import type { MixedResult } from './mixed.js';
import { variantCard, type OnnxVariantInfo } from './variant_card.js';

export { MODEL_FORMATS, ONNX_VARIANTS, DEFAULT_MAX_MIOU_DROP, DEFAULT_MIXED_BUDGET, DEFAULT_CALIBRATION_SAMPLES, type ConvertOptions, type ModelFormat } from './convert_options.js';
export { AccuracyGateError } from '../core/errors.js';
export type { Comparison } from './measure.js';
export { isImportedOnnx } from './convert_imported.js';
export type { OnnxVariantInfo } from './variant_card.js';

/** The variant `convert` wrote, its card and how it compares with its parent. */
export interface ConvertResult {
  dir: string;
  /** The ONNX model written, when the format includes ONNX (always, for an imported model). */
  onnx: OnnxVariantInfo | null;
  card: ModelCard;
  rewrites: RewriteReport;
  /** The tfjs variant against its parent on the held-out set; null when not measured or ONNX only (see `onnx.comparison`). */
  comparison: Comparison | null;
  mixed: MixedResult | null;
  /** Weight bytes of the fp32 parent, for size ratios. */
  parentBytes: number;
  seconds: number;
}

/**
 * Converts any registry version into the variant `<parent version>-<precision>`: edgeseg's own
 * fp32 graph is rewritten, planned, encoded and exported; an imported ONNX or TFLite model is
 * quantized to int8 QDQ. Either way the variant is gated on the held-out set before anything is
 * written, then staged and published into the registry.
 */
export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const started = Date.now();
  const log = options.log ?? createLogger('converter');
  const progress = options.onProgress ?? ((m: string) => log.info(m));
  const o = resolveConvertOptions(options);
  const parent = await readModelDir(resolveModelRef(o.model, o.models));
  const imported = isImportedOnnx(parent.card);
  // edgeseg's own graph is measured in tfjs; an imported model only ever runs on ONNX Runtime.
  const backend = imported ? null : await selectBackend(o.backend, log);
  if (imported) checkImported(o, o.model);
  if (parent.card.version.includes('-') || (!imported && parent.card.precision !== 'fp32')) {
    throw new ConfigError(`${parent.dir} is already a converted variant (${parent.card.version}); convert from its parent ${parent.card.parentVersion}`);
  }
  // Calibration is needed by an int8 ONNX model: an imported model's always, edgeseg's own with format onnx|both.
  const calibrates = imported || o.onnxVariant?.weights === 'int8';
  const data = await openConversionData({ evalSpec: o.eval, calibrate: calibrates ? o.calibrate : undefined, calibrationSamples: o.calibrationSamples }, parent.card, log);
  const variant = imported ? await importedVariant(o, parent, data, progress) : await graphVariant(o, parent, data, backend!, progress);
  const version = `${parent.card.version}-${variant.precision}`;
  const target = join(o.models, parent.card.name, version);
  // Checked before writing; publishRun checks again under the registry lock.
  if (existsSync(target) && !o.force) throw new ConfigError(`${target} already exists; pass --force to replace it`);
  const draft = variantCard({ options: o, version, parent: parent.card, variant, evaluation: data.heldOut?.evaluation ?? null, started });
  // The variant keeps the parent's input normalization: its card declares it.
  const card = await writeModelDir(stageVersion(o.models, parent.card.name, version), variant.artifacts, { ...draft, normalization: normalizationOf(parent.card) }, variant.extras, variant.write);
  const dir = await publishRun(o.models, parent.card.name, version, { replace: o.force });
  return { dir, onnx: variant.onnx, card, rewrites: variant.rewrites, comparison: variant.comparison, mixed: variant.mixed, parentBytes: parent.card.bytes, seconds: (Date.now() - started) / 1000 };
}
