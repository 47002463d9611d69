/**
 * What `convert` is asked for: `ConvertOptions` with its defaults, and `resolveConvertOptions`,
 * which fills them and checks the options against each other before any work (each error names
 * the flag and the fix). Both paths of `convert` (edgeseg's own graph, an imported model's) read
 * the resolved options, so a default is written here once.
 */
import { resolve } from 'node:path';
import { ConfigError, type Logger, type Precision } from '../core/index.js';
import type { TrainingBackend } from '../core/node/backends/select.js';
import { DEFAULT_MODELS_ROOT } from '../core/node/registry.js';
import { checkPrecision, type DtypeOverride } from './quantize.js';
import type { OnnxWeightEncoding } from './onnx/weights.js';

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

/** The gate's budget when a held-out set is given and `maxMiouDrop` is not: one mIoU point. */
export const DEFAULT_MAX_MIOU_DROP = 0.01;
/** Mixed needs a non-default mIoU budget: this one is used when `--max-miou-drop` is not given. */
export const DEFAULT_MIXED_BUDGET = 0.005;
/** @default of `calibrationSamples`. */
export const DEFAULT_CALIBRATION_SAMPLES = 64;

/**
 * What `convert` makes from a model version and how it is gated. The parent is any registry
 * version: edgeseg's own fp32 model (or an imported Keras/tfjs one), whose graph is folded and
 * quantized, or an imported ONNX or TFLite model, whose own graph is quantized to int8 QDQ ONNX.
 */
export interface ConvertOptions {
  /** Parent model: a directory or registry ref. Must be an fp32 model. */
  model: string;
  /** An imported ONNX or TFLite model converts at `uint8` only (int8 QDQ ONNX). @default 'uint8' */
  precision?: Precision | string;
  /** Per-weight dtype globs applied after the precision's default (later wins); tfjs weights only. */
  overrides?: DtypeOverride[];
  /** Held-out set (dataset spec; its validation split is used). Required for the gate, `mixed` and an imported model. */
  eval?: string;
  /**
   * Fail when the variant's mIoU is more than this below the parent's (0–1 scale, 0.01 = one
   * point); the variant is gated only when `eval` is given.
   * @default 0.01 (DEFAULT_MAX_MIOU_DROP); with precision `mixed`, 0.005 (DEFAULT_MIXED_BUDGET)
   */
  maxMiouDrop?: number;
  /** `mixed`: group weights by layer or by block for the sensitivity search. @default 'layer' */
  groupBy?: 'layer' | 'block';
  /** Registry root: the parent is resolved in it and the variant written under it. @default 'models' */
  models?: string;
  /** Backend for evaluation of a tfjs model. @default 'auto' */
  backend?: TrainingBackend;
  /** Replace an existing variant of the same name. @default false */
  force?: boolean;
  /**
   * Artifacts to write: the tfjs layers model, an ONNX model (`model.onnx` for fp32,
   * `model.fp16.onnx`, `model.int8.onnx` for uint8: int8 QDQ), or both. An imported ONNX or
   * TFLite model is always written as `model.int8.onnx` alone. @default 'tfjs'
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

/** ConvertOptions with their defaults filled and checked against each other. */
export interface ResolvedConvertOptions {
  model: string;
  precision: Precision;
  overrides: DtypeOverride[];
  eval: string | undefined;
  /** The gate's budget; undefined when there is no held-out set to gate on. */
  maxMiouDrop: number | undefined;
  groupBy: 'layer' | 'block' | undefined;
  models: string;
  backend: TrainingBackend;
  force: boolean;
  format: ModelFormat;
  /** The ONNX model `format` asks for at this precision (edgeseg's own graph). */
  onnxVariant: { weights: OnnxWeightEncoding; file: string } | null;
  /** The set whose training split calibrates an int8 ONNX model. */
  calibrate: string | undefined;
  calibrationSamples: number;
}

/** Fills ConvertOptions' defaults and checks them against each other; each error names the flag and the fix. */
export function resolveConvertOptions(options: ConvertOptions): ResolvedConvertOptions {
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
  const budget = precision === 'mixed' ? DEFAULT_MIXED_BUDGET : DEFAULT_MAX_MIOU_DROP;
  return {
    model: options.model,
    precision,
    overrides: options.overrides ?? [],
    eval: options.eval,
    maxMiouDrop: options.eval ? (options.maxMiouDrop ?? budget) : undefined,
    groupBy: options.groupBy,
    models: resolve(options.models ?? DEFAULT_MODELS_ROOT),
    backend: options.backend ?? 'auto',
    force: options.force ?? false,
    format: format as ModelFormat,
    onnxVariant,
    calibrate: options.calibrate ?? options.eval,
    calibrationSamples: options.calibrationSamples ?? DEFAULT_CALIBRATION_SAMPLES,
  };
}
