/**
 * `edgeseg import`: a model trained elsewhere → a registry version like a trained one
 * (`card.json` + `SHA256SUMS`), or a named refusal. Keras-family files become a flat tfjs layers
 * model named by the contract (so fold, quantize, the gate, the ONNX export and every runtime take
 * it as their own); an ONNX file is kept as it is and its card carries its own contract (tensor
 * names, layout, batch, H×W, classes) for the ONNX Runtime engine; a TFLite file is translated to
 * ONNX (import_tflite.ts) at its own H×W, classes and normalization.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { CLASS_NAMES, ConfigError, INPUT_NORMALIZATIONS, NUM_CLASSES, type InputNormalization, type Logger, type ModelCard } from '../../core/index.js';
import { sha256Hex } from '../../core/artifacts.js';
import { type ModelSource, type SourceFormat } from '../../core/card.js';
import { contractFor, isInputNormalization } from '../../core/contract.js';
import { writeModelDir } from '../../core/node/artifact_fs.js';
import { DEFAULT_MODELS_ROOT, publishRun, reserveVersion } from '../../core/node/registry.js';
import { codeRevision } from '../../core/node/revision.js';
import { readFileCapped, readFileHead, withOsErrors } from '../../core/node/safe_read.js';
import { ImportError } from '../../core/errors.js';
import { IMPORT_LIMITS } from './import_limits.js';
import { importKerasLayers } from './import_keras.js';
import { importOnnx } from './import_onnx.js';
import { importTflite } from './import_tflite.js';
import { hasTfliteIdentifier } from '../../core/node/tflite/schema.js';
import { readKerasArchive, readModelH5, readTfjsDir, type KerasSource } from './keras_read.js';

export interface ImportOptions {
  /** A `.keras` or `.h5` file, a tensorflowjs_converter directory, an `.onnx` or a `.tflite` file. */
  path: string;
  /** Registry model name the version is written under. */
  name: string;
  /** Registry root. @default 'models' */
  models?: string;
  /**
   * How the model wants its pixels (`unit` [0, 1], `symmetric` [−1, 1], `imagenet` mean/std).
   * Required unless the file records it (a Keras Rescaling of raw pixels, a quantized TFLite
   * input). @default none (refused with IMPORT_NORMALIZATION_UNKNOWN)
   */
  normalize?: InputNormalization;
  /**
   * Class names in output-channel order; their number must be the model's classes (edgeseg's 3
   * for Keras-family files). @default core's CLASS_NAMES for a 3-class model, a TFLite file's metadata labels
   */
  labels?: readonly string[];
  /** The logits output of an ONNX model with several outputs. @default its first output */
  output?: string;
  log?: Logger;
}

export interface ImportResult {
  dir: string;
  version: string;
  card: ModelCard;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46];

/** The format of `path`, by what it is (a directory, a zip, HDF5) before its extension. */
export function detectFormat(path: string): SourceFormat {
  if (!existsSync(path)) throw new ConfigError(`${path} does not exist`);
  if (withOsErrors(path, 'model', () => statSync(path)).isDirectory()) return 'tfjs-layers';
  const head = new Uint8Array(readFileHead(path, 8, 'model file'));
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(ZIP_MAGIC)) return 'keras';
  if (starts(HDF5_MAGIC)) return 'keras-h5';
  if (hasTfliteIdentifier(head)) return 'tflite';
  if (extname(path).toLowerCase() === '.onnx') return 'onnx';
  throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `${path} is neither a .keras archive, an HDF5 model, a tfjs directory, an .onnx nor a .tflite file`);
}

/** Class names for a model with `classes` outputs: the given ones (as many), else core's for a 3-class model. */
function checkLabels(labels: readonly string[] | undefined, classes: number, what: string): readonly string[] {
  if (!labels && classes === NUM_CLASSES) return CLASS_NAMES;
  if (!labels) throw new ImportError('IMPORT_LABELS_MISSING', `${what} has ${classes} classes; name them with --labels a,b,c or --labels <labels file> (one name per line)`);
  if (labels.length !== classes || labels.some((l) => !l)) {
    throw new ImportError('IMPORT_CLASSES_MISMATCH', `--labels names ${labels.length} classes (${labels.join(', ')}); ${what} has ${classes}`);
  }
  return labels;
}

function readKeras(path: string, format: SourceFormat): KerasSource {
  if (format === 'tfjs-layers') return readTfjsDir(path);
  const bytes = new Uint8Array(readFileCapped(path, { maxBytes: IMPORT_LIMITS.maxFileBytes, what: 'model file' }));
  return format === 'keras' ? readKerasArchive(bytes, basename(path)) : readModelH5(bytes, basename(path));
}

/** Imports `o.path` as the next version of `o.name`; nothing is left in the registry when it is refused. */
export async function importModel(o: ImportOptions): Promise<ImportResult> {
  const path = resolve(o.path);
  const format = detectFormat(path);
  if (format !== 'onnx' && format !== 'tflite') checkLabels(o.labels, NUM_CLASSES, "edgeseg's contract");
  if (o.normalize !== undefined && !isInputNormalization(o.normalize)) {
    throw new ConfigError(`--normalize must be one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}, got '${o.normalize}'`);
  }
  const sourceBytes = new Uint8Array(
    format === 'tfjs-layers'
      ? readFileCapped(join(path, 'model.json'), { maxBytes: IMPORT_LIMITS.maxJsonBytes, what: 'model.json' })
      : readFileCapped(path, { maxBytes: IMPORT_LIMITS.maxFileBytes, what: 'model file' }),
  );
  const sha256 = await sha256Hex(sourceBytes);
  // Read and check the whole file before asking for what it cannot tell.
  const foreign = format === 'onnx' || format === 'tflite';
  const tflite = format === 'tflite' ? await importTflite(sourceBytes, basename(path), { normalize: o.normalize, labels: o.labels }) : null;
  const kerasSource = foreign ? null : readKeras(path, format);
  const keras = kerasSource ? await importKerasLayers(kerasSource) : null;
  // A model that rescales raw pixels itself says how it is normalised: it takes core's unit input once rescaled.
  if (keras?.pixelRescaling && o.normalize !== undefined && o.normalize !== 'unit') {
    throw new ConfigError(`${basename(path)} rescales raw pixels itself (layer ${keras.pixelRescaling}), so it takes edgeseg's unit input; drop --normalize ${o.normalize}`);
  }
  const normalization = keras?.pixelRescaling ? 'unit' : (tflite?.contract.input.normalization ?? o.normalize);
  if (!normalization) {
    throw new ImportError(
      'IMPORT_NORMALIZATION_UNKNOWN',
      `${basename(path)} does not record how its input pixels are normalised; pass --normalize unit ([0, 1]), symmetric ([-1, 1], Keras MobileNet preprocess_input) or imagenet (mean/std, most PyTorch models)`,
    );
  }
  const root = resolve(o.models ?? DEFAULT_MODELS_ROOT);
  const { version, runDir } = reserveVersion(root, o.name);
  try {
    const common = {
      name: o.name,
      version,
      parentVersion: null,
      created: new Date().toISOString(),
      metrics: null,
      dataset: null,
      evaluation: null,
      training: null,
      backend: null,
      codeRevision: codeRevision(),
      normalization,
    };
    let card: ModelCard;
    if (keras) {
      const source: ModelSource = {
        format,
        file: basename(path),
        sha256,
        producer: kerasSource!.producer,
        inputName: keras.sourceInput,
        outputName: keras.sourceOutput,
        normalizationFrom: keras.pixelRescaling ? 'file' : 'option',
        pinned: keras.pinned,
        flattened: keras.flattened,
        renamed: keras.renamed,
      };
      card = await writeModelDir(
        runDir,
        keras.artifacts,
        { ...common, architecture: { name: `imported-${format}`, config: { layers: keras.layerClasses } }, precision: 'fp32', source },
        [],
        { contract: { ...contractFor(normalization), classes: checkLabels(o.labels, NUM_CLASSES, "edgeseg's contract") } },
      );
    } else if (tflite) {
      const source: ModelSource = {
        format,
        file: basename(path),
        sha256,
        producer: tflite.producer,
        inputName: tflite.inputName,
        outputName: tflite.outputName,
        normalizationFrom: tflite.normalizationFrom,
        pinned: [],
        flattened: [],
        renamed: {},
      };
      card = await writeModelDir(
        runDir,
        { modelTopology: {}, weightSpecs: tflite.weights.map((t) => ({ name: t.name, shape: t.shape, dtype: 'float32' as const })) },
        { ...common, architecture: { name: 'imported-tflite', config: tflite.architecture }, precision: tflite.precision, source },
        [{ path: 'model.onnx', data: tflite.onnx }],
        { tfjs: false, weightDtypes: {}, contract: tflite.contract },
      );
    } else {
      const onnx = await importOnnx(sourceBytes, basename(path), { normalization, output: o.output });
      const source: ModelSource = {
        format,
        file: basename(path),
        sha256,
        producer: onnx.producer,
        inputName: onnx.contract.input.name,
        outputName: onnx.contract.output.name,
        normalizationFrom: 'option',
        pinned: onnx.pinned,
        flattened: [],
        renamed: {},
      };
      card = await writeModelDir(
        runDir,
        { modelTopology: {}, weightSpecs: onnx.initializers.map((t) => ({ name: t.name, shape: t.shape, dtype: 'float32' as const })) },
        { ...common, architecture: { name: 'imported-onnx', config: { opset: onnx.opset } }, precision: 'fp32', source },
        [{ path: 'model.onnx', data: sourceBytes }],
        { tfjs: false, weightDtypes: {}, contract: { ...onnx.contract, classes: checkLabels(o.labels, onnx.classes, `output ${onnx.contract.output.name}`) } },
      );
    }
    const dir = await publishRun(root, o.name, version);
    o.log?.info('imported', { format, dir, version });
    return { dir, version, card };
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}
