/**
 * What one path of `convert` made (`Variant`: edgeseg's own graph folded and quantized, or an
 * imported model's graph quantized to int8 QDQ), and the one card builder both paths' variants
 * are recorded by: lineage, what was measured (the served format's comparison), how it was
 * converted.
 */
import type { io } from '@tensorflow/tfjs-core';
import type { ModelCard, Precision } from '../core/index.js';
import type { ModelSource } from '../core/card.js';
import type { CardDraft, ExtraFile, WriteModelDirOptions } from '../core/node/artifact_fs.js';
import { codeRevision } from '../core/node/revision.js';
import type { ModelFormat, ResolvedConvertOptions } from './convert_options.js';
import type { RewriteReport } from './fold.js';
import type { Comparison } from './measure.js';
import type { MixedResult } from './mixed.js';
import type { OnnxWeightEncoding } from './onnx/weights.js';

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
  /** An imported model's graph: the convolutions quantized and the activation tensors calibrated. */
  qdq?: { convolutions: number; tensors: number };
}

/** What a path of `convert` made, ready to be written: the files, and what the card records of them. */
export interface Variant {
  /** The precision the weights ended at (`mixed`: the plan's). */
  precision: Precision;
  format: ModelFormat;
  /** The tfjs model (an empty one when the variant is ONNX only: `write.tfjs` false). */
  artifacts: io.ModelArtifacts;
  extras: ExtraFile[];
  write: WriteModelDirOptions;
  rewrites: RewriteReport;
  /** The tfjs variant against its parent; null when not measured or ONNX only. */
  comparison: Comparison | null;
  onnx: OnnxVariantInfo | null;
  mixed: MixedResult | null;
  /** What measured the variant: a tfjs backend, or onnxruntime-node. */
  backend: { name: string; adapter?: string };
  /** An imported model's provenance, which its variant keeps. */
  source?: ModelSource;
}

/** The variant's card: lineage, what was measured (the served format's comparison), and how it was converted. */
export function variantCard(c: { options: ResolvedConvertOptions; version: string; parent: ModelCard; variant: Variant; evaluation: { spec: string; manifestHash: string; samples: number } | null; started: number }): CardDraft {
  const { options, parent, variant } = c;
  const served = variant.format === 'onnx' ? (variant.onnx?.comparison ?? null) : variant.comparison;
  const m = served?.variant;
  const onnx = variant.onnx;
  return {
    name: parent.name,
    version: c.version,
    parentVersion: parent.version,
    created: new Date().toISOString(),
    architecture: parent.architecture,
    precision: variant.precision,
    metrics: m ? { pixelAccuracy: m.pixelAccuracy, miou: m.miou, perClassIou: m.perClassIou, dice: m.dice, foregroundIou: m.foregroundIou } : null,
    ...(served ? { deltaVsParent: { miou: served.delta.miou, pixelAccuracy: served.delta.pixelAccuracy, maskAgreement: served.maskAgreement } } : {}),
    dataset: parent.dataset,
    evaluation: c.evaluation,
    training: parent.training,
    conversion: {
      precision: options.precision,
      overrides: options.overrides,
      rewrites: Object.fromEntries(Object.entries(variant.rewrites).map(([k, v]) => [k, v.length])),
      maxMiouDrop: options.maxMiouDrop ?? null,
      parentMetrics: served?.parent ?? null,
      format: variant.format,
      ...(onnx
        ? {
            onnx: {
              file: onnx.file,
              weights: onnx.weights,
              opset: onnx.opset,
              bytes: onnx.bytes,
              ratioVsParent: onnx.ratioVsParent,
              calibration: onnx.calibration,
              ...(onnx.qdq ? { qdq: onnx.qdq } : {}),
              ...(onnx.comparison
                ? { metrics: onnx.comparison.variant, deltaVsParent: { miou: onnx.comparison.delta.miou, pixelAccuracy: onnx.comparison.delta.pixelAccuracy, maskAgreement: onnx.comparison.maskAgreement } }
                : {}),
            },
          }
        : {}),
      ...(variant.mixed ? { mixed: { budget: options.maxMiouDrop, kept: variant.mixed.kept, trials: variant.mixed.trials, sensitivity: variant.mixed.sensitivity.slice(0, 20) } } : {}),
      seconds: (Date.now() - c.started) / 1000,
    },
    ...(variant.source ? { source: variant.source } : {}),
    backend: { name: variant.backend.name, ...(variant.backend.adapter ? { adapter: variant.backend.adapter } : {}) },
    codeRevision: codeRevision(),
  };
}
