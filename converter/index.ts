/**
 * edgeseg/converter: `convert` (fold BatchNorm, fuse activations, quantize to fp16/uint8/uint16/mixed,
 * export ONNX, behind an mIoU gate), model artifacts (shards, card, SHA256SUMS, verification) and
 * the model registry.
 */
export {
  convert,
  AccuracyGateError,
  MODEL_FORMATS,
  ONNX_VARIANTS,
  DEFAULT_MIXED_BUDGET,
  type ConvertOptions,
  type ConvertResult,
  type ModelFormat,
  type OnnxVariantInfo,
} from './convert.js';
export { saveLayersModel, writeModelDir, readModelDir, loadLayersModel, modelArtifacts, type CardDraft, type VerifiedModelDir } from '../core/node/artifact_fs.js';
export { listVersions, listModelNames, aliases, setAlias, reserveVersion, publishRun, resolveModelRef, DEFAULT_MODELS_ROOT } from '../core/node/registry.js';
