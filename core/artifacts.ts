/**
 * Platform-free parts of the model artifact format (`models/<name>/<version>/`): SHA256SUMS,
 * weight sharding, and the manifest consistency check (shapes × dtypes = bytes). The Node
 * filesystem layer (converter/artifact_fs.ts) and the browser loader both build on these.
 */
import type { io } from '@tensorflow/tfjs-core';
import { parseCard, type ModelCard } from './card.js';
import { ChecksumError, ModelFormatError } from './errors.js';
import { modelJsonSchema, parseJsonText, parseWith, sha256SumsLine } from './schemas.js';
import { checkWeightsAgainstModel } from './weights_check.js';
import type { Arm } from './rollout.js';

/** Shard size of weight files, like tensorflowjs_converter. */
export const SHARD_BYTES = 4 * 1024 * 1024;
/** File name of a version's tfjs layers topology + weights manifest. */
export const MODEL_JSON = 'model.json';
/** File name of a version's model card (core/card.ts). */
export const CARD_JSON = 'card.json';
/** File name of a version's checksum list (`<sha256>  <file>` per line), checked before any file is used. */
export const SHA256SUMS = 'SHA256SUMS';

/** Bytes per element of each stored dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Lower-case hex sha256 of bytes, via WebCrypto (present in Node 20 and every browser). */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `<hex>  <file>` lines, sorted by file name, as `sha256sum` writes them. */
export function formatSha256Sums(entries: Iterable<[file: string, sha256: string]>): string {
  return [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, hash]) => `${hash}  ${file}\n`)
    .join('');
}

/** Parses SHA256SUMS; every line must be `<sha256>  <file>` with a file inside the model directory, each file listed once. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const entry = parseWith(sha256SumsLine, line.trimEnd(), `SHA256SUMS line ${i + 1}`, (m) => new ModelFormatError('MODEL_MALFORMED', m));
    if (out.has(entry.file)) throw new ModelFormatError('MODEL_MALFORMED', `SHA256SUMS line ${i + 1}: ${entry.file} is listed twice`);
    out.set(entry.file, entry.sha256);
  }
  return out;
}

/** Throws `CHECKSUM_MISMATCH` naming the file when its bytes do not hash to the recorded value. */
export async function verifyChecksum(file: string, bytes: Uint8Array | ArrayBuffer, sums: Map<string, string>): Promise<void> {
  const want = sums.get(file);
  if (!want) throw new ChecksumError(file, `${file} is not listed in SHA256SUMS`);
  const got = await sha256Hex(bytes);
  if (got !== want) throw new ChecksumError(file, `${file}: sha256 ${got} does not match SHA256SUMS (${want}); the file is corrupt or was altered`);
}

/** Byte length the manifest implies for each weight: product of shape × stored dtype size. */
export function weightSpecBytes(spec: io.WeightsManifestEntry): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const per = DTYPE_BYTES[dtype];
  if (per === undefined) throw new ModelFormatError('MODEL_MALFORMED', `weight ${spec.name} has unknown dtype '${dtype}'`);
  return spec.shape.reduce((a, b) => a * b, 1) * per;
}

/**
 * Checks that the weights manifest agrees with the shards: every shard is listed once, and the
 * manifest's shapes × dtypes add up to the shards' total size. `shardSizes` maps each path in
 * the manifest to its byte length (missing entries are reported).
 */
export function checkWeightsManifest(manifest: io.WeightsManifestConfig, shardSizes: Map<string, number>): void {
  for (const group of manifest) {
    let expected = 0;
    for (const spec of group.weights) expected += weightSpecBytes(spec);
    let actual = 0;
    for (const p of group.paths) {
      const size = shardSizes.get(p);
      if (size === undefined) throw new ModelFormatError('WEIGHTS_MISMATCH', `weight shard ${p} listed in model.json is missing`);
      actual += size;
    }
    if (expected !== actual) {
      throw new ModelFormatError(
        'WEIGHTS_MISMATCH',
        `weights in model.json need ${expected} bytes but shards ${group.paths.join(', ')} hold ${actual}; a shard is truncated or does not belong to this model`,
      );
    }
  }
}

/** Splits one weight buffer into shards of at most `shardBytes`, named like tensorflowjs_converter's. */
export function shardWeights(data: ArrayBuffer, shardBytes = SHARD_BYTES): { path: string; data: Uint8Array }[] {
  const n = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  return Array.from({ length: n }, (_, i) => ({
    path: `group1-shard${i + 1}of${n}.bin`,
    data: new Uint8Array(data, i * shardBytes, Math.min(shardBytes, data.byteLength - i * shardBytes)),
  }));
}

/**
 * Parses model.json text into tfjs model artifacts' JSON, with a named error: a topology, and a
 * weights manifest whose shard paths stay inside the model directory and whose shapes are
 * positive integers.
 */
export function parseModelJson(text: string, where = MODEL_JSON): io.ModelJSON {
  const fail = (m: string) => new ModelFormatError('MODEL_MALFORMED', m);
  const json = parseJsonText(text, where, fail);
  if (json === null || typeof json !== 'object' || !('modelTopology' in json) || !('weightsManifest' in json)) {
    throw fail(`${where} lacks modelTopology or weightsManifest; it is not a tfjs model`);
  }
  return parseWith(modelJsonSchema, json, where, fail) as unknown as io.ModelJSON;
}

/** The ONNX model file of a version (`model.onnx`, `model.int8.onnx`, …), or null when it has none. */
export function onnxFileOf(card: ModelCard): string | null {
  return card.files.find((f) => f.path.endsWith('.onnx'))?.path ?? null;
}

/** Whether a version is ONNX only (converted with `--format onnx`): no tfjs model.json. */
export function isOnnxOnly(card: ModelCard): boolean {
  return onnxFileOf(card) !== null && !card.files.some((f) => f.path === MODEL_JSON);
}

/** A model version whose every file matched SHA256SUMS, with its parsed parts. */
export interface VerifiedModel {
  card: ModelCard;
  /** The tfjs model; null for an ONNX-only version (see `isOnnxOnly`). */
  modelJson: io.ModelJSON | null;
  /** All weight shards joined, in manifest order (empty for an ONNX-only version). */
  weightData: ArrayBuffer;
  /** Every file checked against SHA256SUMS. */
  checked: string[];
}

/**
 * Reads and verifies a model version through `read` (a file system in Node, `fetch` in the
 * browser; it throws `MODEL_NOT_FOUND` for a missing file): every file in SHA256SUMS lies inside
 * the version directory and hashes to its recorded value, model.json, card.json and every shard
 * are covered, the weights manifest matches the shards' sizes, every weight has the shape its
 * layer expects and the dtype the card records, and the topology's input/output and the card
 * match the model contract. Throws a named error
 * naming the bad file. `where` names the version in messages. An ONNX-only version has no
 * model.json: its card and ONNX file are checked like any file.
 */
export async function readVerifiedModel(read: (file: string) => Promise<Uint8Array>, where: string): Promise<VerifiedModel> {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const sums = parseSha256Sums(text(await read(SHA256SUMS)));
  const files = new Map<string, Uint8Array>();
  for (const file of sums.keys()) {
    const bytes = await read(file);
    await verifyChecksum(file, bytes, sums);
    files.set(file, bytes);
  }
  if (!sums.has(MODEL_JSON) && sums.has(CARD_JSON)) {
    const card = parseCard(text(files.get(CARD_JSON)!), `${where}/${CARD_JSON}`);
    if (isOnnxOnly(card)) return { card, modelJson: null, weightData: new ArrayBuffer(0), checked: [...sums.keys()] };
  }
  // A malformed model.json is named as such before the question of its checksum.
  const modelJson = parseModelJson(text(files.get(MODEL_JSON) ?? (await read(MODEL_JSON))));
  for (const file of [MODEL_JSON, CARD_JSON]) {
    if (!sums.has(file)) throw new ModelFormatError('MODEL_MALFORMED', `${file} is not covered by SHA256SUMS`);
  }
  const sizes = new Map<string, number>();
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      const shard = files.get(p);
      if (!shard) throw new ModelFormatError('MODEL_MALFORMED', `weight shard ${p} is not covered by SHA256SUMS`);
      sizes.set(p, shard.byteLength);
    }
  }
  checkWeightsManifest(modelJson.weightsManifest, sizes);
  const card = parseCard(text(files.get(CARD_JSON)!), `${where}/${CARD_JSON}`);
  checkWeightsAgainstModel(
    modelJson,
    card,
    modelJson.weightsManifest.map((g) => g.paths.reduce((n, p) => n + sizes.get(p)!, 0)),
    where,
  );
  const shards = modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => files.get(p)!));
  const weightData = new Uint8Array(shards.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of shards) {
    weightData.set(b, o);
    o += b.byteLength;
  }
  return { card, modelJson, weightData: weightData.buffer, checked: [...sums.keys()] };
}

/** One version in the model index the web server serves at `/models/index.json` (the demo's picker). */
export interface ModelIndexEntry {
  /** URL of the version directory. */
  url: string;
  name: string;
  version: string;
  precision: string;
  /** Weight bytes. */
  bytes: number;
  /** Registry aliases pointing at this version (`champion`, …). */
  aliases: string[];
  /**
   * During a rollout, on the version that serves the client which asked (`?client=<id>`): its arm.
   * That entry comes first, so a client that takes the first entry stays on its arm.
   */
  arm?: Arm;
}

/** The tfjs model of a verified version; an ONNX-only version is refused with what to do instead. */
export function tfjsModelOf(v: VerifiedModel, where: string): io.ModelJSON {
  if (v.modelJson) return v.modelJson;
  throw new ModelFormatError(
    'MODEL_MALFORMED',
    `${where} is ONNX only (${onnxFileOf(v.card)}, converted with --format onnx) and has no tfjs model.json; run it with the ONNX Runtime engine (--engine ort / engine: 'ort'), or convert with --format both`,
  );
}
