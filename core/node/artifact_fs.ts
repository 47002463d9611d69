/**
 * Model directories on disk: `model.json` + `group1-shardNofM.bin` (4 MiB shards, tfjs layers
 * format), `card.json`, and `SHA256SUMS` over every file. Writing computes the card's derived
 * fields; reading verifies checksums and the manifest before any weight is used, so a corrupt
 * model is refused with the name of the bad file.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { MAX_MODEL_FILE_BYTES, readFileCapped } from './safe_read.js';
import { join, resolve, sep } from 'node:path';
import { CARD_JSON, MODEL_JSON, ModelFormatError, readVerifiedModel, SHA256SUMS, type InputNormalization, type ModelCard, type ModelContract, type VerifiedModel } from '../index.js';
import { formatSha256Sums, sha256Hex, shardWeights, tfjsModelOf } from '../artifacts.js';
import { CARD_SCHEMA } from '../card.js';
import { contractFor } from '../contract.js';
import type { io } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf, tfl } from './tfjs.js';

/** Card fields the writer fills in itself, and the input normalization its contract declares. */
export type CardDraft = Omit<ModelCard, 'schema' | 'contract' | 'params' | 'weightDtypes' | 'bytes' | 'files'> & {
  /** Written into the card's contract. @default 'unit' */
  normalization?: InputNormalization;
};

/** A file written into a version folder beside the model (an ONNX file, a report), listed in the card and SHA256SUMS. */
export interface ExtraFile {
  path: string;
  data: string | Uint8Array;
}

function joinWeightData(data: io.WeightData): ArrayBuffer {
  return tf.io.CompositeArrayBuffer.join(data);
}

/** Serialises a layers model into artifacts (topology + weight specs + one weight buffer). */
export async function modelArtifacts(model: LayersModel): Promise<io.ModelArtifacts> {
  let saved: io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/** What writeModelDir writes besides the card. */
export interface WriteModelDirOptions {
  /**
   * Write the tfjs model (model.json + shards). Without it the version is ONNX only: an `.onnx`
   * extra file carries the model, and the card's `bytes` are that file's. @default true
   */
  tfjs?: boolean;
  /** Card `weightDtypes` when the stored dtypes are not the tfjs manifest's (an ONNX-only version). */
  weightDtypes?: Record<string, string>;
  /**
   * The card's contract, when it is not core's with the draft's normalization: an imported ONNX
   * model keeps its own tensor names and layout. @default contractFor(draft.normalization)
   */
  contract?: ModelContract;
}

/**
 * Writes a model directory from artifacts and returns the completed card. Extra files (reports,
 * plots, metrics logs, ONNX models) are written too and listed in SHA256SUMS.
 */
export async function writeModelDir(dir: string, artifacts: io.ModelArtifacts, draft: CardDraft, extras: ExtraFile[] = [], options: WriteModelDirOptions = {}): Promise<ModelCard> {
  const { tfjs = true } = options;
  if (!tfjs && !extras.some((e) => e.path.endsWith('.onnx'))) throw new ModelFormatError('MODEL_MALFORMED', 'a version without a tfjs model needs an ONNX model');
  mkdirSync(dir, { recursive: true });
  const weightSpecs = artifacts.weightSpecs ?? [];
  const shards = tfjs ? shardWeights(joinWeightData(artifacts.weightData ?? new ArrayBuffer(0))) : [];
  const modelJson: io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: shards.map((s) => s.path), weights: weightSpecs }],
    ...(artifacts.signature ? { signature: artifacts.signature } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
  const files: { path: string; data: Uint8Array }[] = [
    ...(tfjs ? [{ path: MODEL_JSON, data: new TextEncoder().encode(JSON.stringify(modelJson)) }] : []),
    ...shards,
    ...extras.map((e) => ({ path: e.path, data: typeof e.data === 'string' ? new TextEncoder().encode(e.data) : e.data })),
  ];
  const listed: ModelCard['files'] = [];
  for (const f of files) {
    mkdirSync(join(dir, f.path, '..'), { recursive: true });
    writeFileSync(join(dir, f.path), f.data);
    listed.push({ path: f.path, bytes: f.data.byteLength, sha256: await sha256Hex(f.data) });
  }
  const { normalization, ...fields } = draft;
  const card: ModelCard = {
    schema: CARD_SCHEMA,
    ...fields,
    contract: options.contract ?? contractFor(normalization),
    params: weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
    weightDtypes: options.weightDtypes ?? Object.fromEntries(weightSpecs.map((s) => [s.name, s.quantization?.dtype ?? s.dtype])),
    bytes: tfjs ? shards.reduce((n, s) => n + s.data.byteLength, 0) : listed.filter((f) => f.path.endsWith('.onnx')).reduce((n, f) => n + f.bytes, 0),
    files: listed.filter((f) => f.path === MODEL_JSON || shards.some((s) => s.path === f.path) || f.path.endsWith('.onnx')),
  };
  const cardBytes = new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n');
  writeFileSync(join(dir, CARD_JSON), cardBytes);
  listed.push({ path: CARD_JSON, bytes: cardBytes.byteLength, sha256: await sha256Hex(cardBytes) });
  writeFileSync(join(dir, SHA256SUMS), formatSha256Sums(listed.map((f) => [f.path, f.sha256])));
  return card;
}

/** Writes a layers model as a version folder (model.json, shards, card, SHA256SUMS, extras) and returns its card. */
export async function saveLayersModel(model: LayersModel, dir: string, draft: CardDraft, extras: ExtraFile[] = []): Promise<ModelCard> {
  return writeModelDir(dir, await modelArtifacts(model), draft, extras);
}

/** A version folder read and verified: its card, artifacts and the files checked. */
export interface VerifiedModelDir extends VerifiedModel {
  dir: string;
}

/**
 * Reads and verifies a model directory (core's `readVerifiedModel` over the file system).
 * Throws a named error naming the bad file.
 */
export async function readModelDir(path: string): Promise<VerifiedModelDir> {
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFormatError('MODEL_NOT_FOUND', `model directory ${dir} does not exist`);
  const realDir = realpathSync(dir);
  const read = async (file: string) => {
    const p = resolve(dir, file);
    // core already refuses such names; this guards the file system itself (symlinks included).
    const outside = (q: string, root: string) => q !== root && !q.startsWith(root + sep);
    if (outside(p, dir)) throw new ModelFormatError('MODEL_MALFORMED', `${file} is outside the model directory ${dir}`);
    if (!existsSync(p)) throw new ModelFormatError('MODEL_NOT_FOUND', `${file} is missing from ${dir}`);
    if (outside(realpathSync(p), realDir)) throw new ModelFormatError('MODEL_MALFORMED', `${file} links outside the model directory ${dir}`);
    if (!statSync(p).isFile()) throw new ModelFormatError('MODEL_MALFORMED', `${file} in ${dir} is not a file`);
    return readFileCapped(p, { maxBytes: MAX_MODEL_FILE_BYTES, what: 'model file' });
  };
  return { dir, ...(await readVerifiedModel(read, dir)) };
}

/** Loads a verified layers model (quantized weights are dequantized by tfjs on load). */
export async function loadLayersModel(path: string): Promise<{ model: LayersModel; card: ModelCard; dir: string }> {
  const v = await readModelDir(path);
  const modelJson = tfjsModelOf(v, v.dir);
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
      weightData: v.weightData,
    }),
  );
  return { model, card: v.card, dir: v.dir };
}
