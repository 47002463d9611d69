/**
 * `convert` of an imported ONNX or TFLite-translated model (`precision` uint8): the foreign graph
 * has no tfjs form to fold, so its own graph is quantized to static int8 QDQ (import/onnx_qdq.ts)
 * with activation ranges calibrated on data run through the model's own contract (names, layout,
 * normalization), then measured against the float model in ONNX Runtime on the held-out set
 * behind the same gate as every edgeseg variant. The variant is `<parent>-uint8` with
 * `model.int8.onnx`, the parent's contract and source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ModelCard } from '../core/index.js';
import { isOnnxOnly, onnxFileOf } from '../core/artifacts.js';
import type { VerifiedModelDir } from '../core/node/artifact_fs.js';
import type { ResolvedConvertOptions } from './convert_options.js';
import { activationTensors, exposeTensors, parseForeignOnnx, qdqTargets, quantizeQdq } from './import/onnx_qdq.js';
import { accuracyGate, calibrateRanges, predictMasksOnnx, type ConversionData } from './measure.js';
import type { Variant } from './variant_card.js';

/** The file an imported model's int8 variant is written as. */
const INT8_FILE = 'model.int8.onnx';

/**
 * Whether a version is an imported ONNX or TFLite model (ONNX only, with no tfjs graph): what
 * `convert` quantizes as its own graph instead of folding a tfjs one.
 */
export function isImportedOnnx(card: ModelCard): boolean {
  return (card.source?.format === 'onnx' || card.source?.format === 'tflite') && isOnnxOnly(card);
}

/** What an imported model's conversion needs that edgeseg's own does not; each error names the flag and the fix. */
export function checkImported(o: ResolvedConvertOptions, model: string): void {
  if (o.precision !== 'uint8') throw new ConfigError(`${model} is an imported ONNX model: convert it with --precision uint8 (int8 QDQ ONNX), got '${o.precision}'`);
  if (!o.eval) throw new ConfigError('converting an imported ONNX model needs --eval <dataset spec> (the gate; its training split calibrates unless --calibrate is given)');
  if (o.overrides.length) throw new ConfigError(`${model} is an imported ONNX model: its int8 QDQ quantizes every convolution; drop the --quantize-* patterns`);
}

/** The int8 QDQ variant of an imported model: calibrated, quantized, and gated against the float model. */
export async function importedVariant(o: ResolvedConvertOptions, parent: VerifiedModelDir, data: ConversionData, progress: (message: string) => void): Promise<Variant> {
  const { card } = parent;
  const file = onnxFileOf(card)!;
  const bytes = new Uint8Array(readFileSync(join(parent.dir, file)));
  const model = parseForeignOnnx(bytes);
  const outputName = card.contract.output.name;
  const targets = qdqTargets(model);
  if (targets.length === 0) throw new ConfigError(`${file} has no Conv or ConvTranspose with float weights to quantize`);
  const tensors = activationTensors(targets, outputName);
  const calibration = data.calibration!;
  const ranges = await calibrateRanges(exposeTensors(model, tensors), tensors, calibration, card.contract);
  progress(`onnx: ${targets.length} convolutions to int8, activation ranges of ${tensors.length} tensors calibrated on ${calibration.samples} samples of ${calibration.spec}`);
  const qdq = quantizeQdq(model, ranges, outputName);
  const heldOut = data.heldOut!;
  const comparison = accuracyGate(
    { label: INT8_FILE, subject: `${card.name}@${card.version} int8` },
    await predictMasksOnnx(bytes, heldOut, card.contract),
    await predictMasksOnnx(qdq, heldOut, card.contract),
    { budget: o.maxMiouDrop, heldOut: heldOut.spec, fix: 'Calibrate on more representative data (--calibrate) or keep the fp32 model.' },
    progress,
  );
  const opset = model.opsetImport.find((s) => !s.domain || s.domain === 'ai.onnx')?.version ?? 0;
  return {
    precision: 'uint8',
    format: 'onnx',
    artifacts: { modelTopology: {}, weightSpecs: [] },
    extras: [{ path: INT8_FILE, data: qdq }],
    write: { tfjs: false, weightDtypes: Object.fromEntries(targets.map((t) => [t.weight.name, 'int8'])), contract: card.contract },
    rewrites: {},
    comparison: null,
    onnx: {
      file: INT8_FILE,
      weights: 'int8',
      opset,
      bytes: qdq.byteLength,
      ratioVsParent: qdq.byteLength / card.bytes,
      comparison,
      calibration: { spec: `${calibration.spec}#train`, samples: calibration.samples },
      qdq: { convolutions: targets.length, tensors: tensors.length },
    },
    mixed: null,
    backend: { name: 'onnxruntime-node' },
    source: card.source,
  };
}
