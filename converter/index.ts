/**
 * edgeseg/converter: `convert` (fold BatchNorm, fuse activations, quantize to fp16/uint8/uint16/mixed,
 * export ONNX; an imported ONNX or TFLite model's own graph to int8 QDQ; behind one mIoU gate),
 * and `importModel` (bring your own Keras, tfjs, ONNX or TFLite model). Model directories and the
 * registry are edgeseg/core/node's; the named errors (AccuracyGateError, ImportError) edgeseg/core's.
 */
export {
  convert,
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
export { importModel, detectFormat, type ImportOptions, type ImportResult } from './import/import_model.js';
