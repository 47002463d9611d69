/**
 * A `.tflite` segmentation model → what `importModel` writes: the graph translated to ONNX
 * (tflite/to_onnx.ts) with edgeseg's contract at its boundary — input `image` [1, H, W, 3] NHWC
 * float at the model's own H×W and normalization (read from the input's quantization), output
 * `logits` [1, H, W, classes] NHWC (an ARG_MAX head is dropped; runtimes take the argmax) — checked
 * by running it once on ONNX Runtime.
 */
import * as ort from 'onnxruntime-node';
import { ConfigError, INPUT_CHANNELS, INPUT_NAME, INPUT_NORMALIZATIONS, OUTPUT_NAME, type InputNormalization, type ModelContract } from '../../core/index.js';
import { ortSessionOptions } from '../../core/ort_runner.js';
import { inputNormalizationOf, parseTflite, type TfliteModel } from '../../core/node/tflite/reader.js';
import { TENSOR_TYPE } from '../../core/node/tflite/schema.js';
import type { Precision } from '../../core/index.js';
import { ImportError } from '../../core/errors.js';
import { tfliteMetadataLabels } from './labels.js';
import { tfliteToOnnx, TFLITE_ONNX_OPSET } from './tflite/to_onnx.js';

export interface ImportedTflite {
  onnx: Uint8Array;
  contract: ModelContract;
  /** The model's own tensor names: its image input and the logits (before a dropped ARG_MAX). */
  inputName: string;
  outputName: string;
  normalizationFrom: 'file' | 'option';
  /** What wrote the file, from its description (`TOCO Converted.`, `MLIR Converted.`), or null. */
  producer: string | null;
  precision: Precision;
  /** Constant tensors by name → shape, for the card's parameter count. */
  weights: { name: string; shape: number[] }[];
  /** TFLite op name → count; the opset of the ONNX graph; the ARG_MAX ops replaced by their logits. */
  architecture: { ops: Record<string, number>; opset: number; droppedArgMax: string[] };
}

export interface TfliteImportOptions {
  /** `--normalize`; an 8-bit input's quantization says it and wins, a contradicting option is refused. */
  normalize?: InputNormalization;
  /** `--labels`, already parsed. @default the file's metadata labels */
  labels?: readonly string[];
}

function normalizationFor(model: TfliteModel, file: string, option: InputNormalization | undefined): { normalization: InputNormalization; from: 'file' | 'option' } {
  const input = model.tensors[model.inputs[0]];
  const quantized = input && (input.type === TENSOR_TYPE.UINT8 || input.type === TENSOR_TYPE.INT8) && input.quantization;
  if (!quantized) {
    if (!option) {
      throw new ImportError('IMPORT_NORMALIZATION_UNKNOWN', `${file} has a float input, which does not record how pixels are normalised; pass --normalize unit ([0, 1]), symmetric ([-1, 1]) or imagenet (mean/std)`);
    }
    return { normalization: option, from: 'option' };
  }
  let fromFile: InputNormalization;
  try {
    fromFile = inputNormalizationOf(model);
  } catch (err) {
    throw new ImportError('IMPORT_NORMALIZATION_UNKNOWN', (err as Error).message, { cause: err, subject: input.name });
  }
  if (option && option !== fromFile) {
    throw new ConfigError(`${file}: input ${input.name} is quantized for ${fromFile} pixels (scale ${input.quantization!.scale[0]}, zero point ${input.quantization!.zeroPoint[0]}); drop --normalize ${option}`);
  }
  return { normalization: fromFile, from: 'file' };
}

function precisionOf(model: TfliteModel): Precision {
  const types = new Set(model.tensors.filter((t) => t.data.length > 0 && t.shape.length > 1).map((t) => t.type));
  if (types.has(TENSOR_TYPE.FLOAT32)) return types.size === 1 ? 'fp32' : 'mixed';
  if (types.has(TENSOR_TYPE.FLOAT16)) return types.size === 1 ? 'fp16' : 'mixed';
  return 'uint8';
}

/** Runs the translated model once on a blank frame: proves ONNX Runtime loads it and returns the logits' real shape. */
async function probe(onnx: Uint8Array, height: number, width: number): Promise<number[]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, { ...ortSessionOptions(), logSeverityLevel: 3 });
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', `ONNX Runtime cannot load the translated model: ${(err as Error).message}`, { cause: err });
  }
  try {
    const feed = new ort.Tensor('float32', new Float32Array(height * width * INPUT_CHANNELS), [1, height, width, INPUT_CHANNELS]);
    const out = await session.run({ [INPUT_NAME]: feed });
    const dims = [...out[OUTPUT_NAME].dims];
    out[OUTPUT_NAME].dispose();
    return dims;
  } finally {
    await session.release();
  }
}

/** Translates and checks a TFLite model; class names from `o.labels` or its metadata, their number the model's. */
export async function importTflite(bytes: Uint8Array, file: string, o: TfliteImportOptions): Promise<ImportedTflite> {
  let model: TfliteModel;
  try {
    model = parseTflite(bytes, file);
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', (err as Error).message, { cause: err });
  }
  if (model.inputs.length !== 1) throw new ImportError('IMPORT_BAD_RANK', `${file} has ${model.inputs.length} inputs; edgeseg feeds one image input`);
  const input = model.tensors[model.inputs[0]];
  if (input.shape.length !== 4 || input.shape[3] !== INPUT_CHANNELS) {
    throw new ImportError('IMPORT_BAD_RANK', `${file}: input ${input.name} has shape [${input.shape}]; edgeseg feeds an NHWC batch of ${INPUT_CHANNELS}-channel images`, { subject: input.name });
  }
  if (input.shape[0] !== 1) throw new ImportError('IMPORT_BAD_SHAPE', `${file}: input ${input.name} [${input.shape}] fixes its batch at ${input.shape[0]}; edgeseg runs 1 frame`, { subject: input.name });
  const [, height, width] = input.shape;
  const { normalization, from } = normalizationFor(model, file, o.normalize);
  const translated = tfliteToOnnx(model, { image: { name: INPUT_NAME, normalization }, logitsName: OUTPUT_NAME });
  const logits = translated.outputs[0];
  if (logits.shape.length !== 4) throw new ImportError('IMPORT_BAD_RANK', `${file}: output ${logits.source} has shape [${logits.shape}]; edgeseg serves per-pixel logits [1, H, W, classes]`, { subject: logits.source });
  if (logits.shape[1] !== height || logits.shape[2] !== width) {
    throw new ImportError('IMPORT_BAD_SHAPE', `${file}: output ${logits.source} [${logits.shape}] is not ${height}×${width} like input ${input.name}; edgeseg's masks have the input's size`, { subject: logits.source });
  }
  const classes = logits.shape[3];
  const measured = await probe(translated.bytes, height, width);
  if (measured.join() !== [1, height, width, classes].join()) {
    throw new ImportError('IMPORT_MALFORMED', `${file}: ONNX Runtime gives logits [${measured}], the file declares [1, ${height}, ${width}, ${classes}]`, { subject: logits.source });
  }
  const labels = o.labels ?? tfliteMetadataLabels(bytes);
  if (!labels) {
    throw new ImportError('IMPORT_LABELS_MISSING', `${file} has ${classes} classes and no labels in its metadata; pass --labels a,b,c or --labels <labels file> (one name per line)`, { subject: logits.source });
  }
  if (labels.length !== classes || labels.some((l) => !l)) {
    throw new ImportError('IMPORT_CLASSES_MISMATCH', `${o.labels ? '--labels' : 'the metadata labels'} name ${labels.length} classes (${labels.slice(0, 8).join(', ')}${labels.length > 8 ? ', …' : ''}); output ${logits.source} has ${classes}`, {
      subject: logits.source,
    });
  }
  const contract: ModelContract = {
    input: { name: INPUT_NAME, shape: [1, height, width, INPUT_CHANNELS], dtype: 'float32', range: INPUT_NORMALIZATIONS[normalization].range, layout: 'NHWC', normalization },
    output: { name: OUTPUT_NAME, shape: [1, height, width, classes], dtype: 'float32', kind: 'logits', layout: 'NHWC' },
    classes: labels,
  };
  const weights = model.tensors.filter((t) => t.data.length > 0 && (t.quantization || t.type === TENSOR_TYPE.FLOAT32 || t.type === TENSOR_TYPE.FLOAT16)).map((t) => ({ name: t.name, shape: t.shape }));
  return {
    onnx: translated.bytes,
    contract,
    inputName: input.name,
    outputName: logits.source,
    normalizationFrom: from,
    producer: model.description.trim() || null,
    precision: precisionOf(model),
    weights,
    architecture: { ops: translated.ops, opset: TFLITE_ONNX_OPSET, droppedArgMax: translated.droppedArgMax },
  };
}
