/**
 * edgeseg/converter: `convert` (fold BatchNorm, fuse activations, quantize to fp16/uint8/uint16/mixed,
 * export ONNX; an imported ONNX or TFLite model's own graph to int8 QDQ; behind one mIoU gate),
 * `importModel` (bring your own Keras, tfjs, ONNX or TFLite model), model artifacts (shards, card, SHA256SUMS, verification) and the model registry.
 */
export {
  convert,
  AccuracyGateError,
  MODEL_FORMATS,
  ONNX_VARIANTS,
  DEFAULT_MAX_MIOU_DROP,
  DEFAULT_MIXED_BUDGET,
  isImportedOnnx,
  type ConvertOptions,
  type ConvertResult,
  type ModelFormat,
  type OnnxVariantInfo,
} from './convert.js';
export { saveLayersModel, writeModelDir, readModelDir, loadLayersModel, modelArtifacts, type CardDraft, type VerifiedModelDir } from '../core/node/artifact_fs.js';
export { listVersions, listModelNames, aliases, setAlias, reserveVersion, publishRun, resolveModelRef, DEFAULT_MODELS_ROOT } from '../core/node/registry.js';
export { importModel, detectFormat, type ImportOptions, type ImportResult } from './import/import_model.js';
export { ImportError, type ImportErrorCode } from '../core/errors.js';
