/**
 * Fetches a model version and verifies it with core's reader before any weight is used: every
 * file against SHA256SUMS (a corrupt shard is refused, naming the file), the weights manifest
 * against the shards, the card against the contract. Verified files are kept in the Cache API
 * under their sha256, so a version is downloaded once and a changed file is never served stale.
 */
import type { io } from '@tensorflow/tfjs-core';
// Single core modules, not core/index.js: the lean ONNX Runtime worker must not pull tfjs in.
import { onnxFileOf, parseSha256Sums, readVerifiedModel, SHA256SUMS } from '../core/artifacts.js';
import type { ModelCard } from '../core/card.js';
import { ModelFormatError } from '../core/errors.js';
import type { LoadProgress, ModelFiles } from './segmenter_api.js';

const CACHE_NAME = 'edgeseg-models-v1';

export interface LoadedModel {
  /** The tfjs model; null for an ONNX-only version. */
  artifacts: io.ModelArtifacts | null;
  /** The version's ONNX model, verified like every file. */
  onnx: { file: string; bytes: Uint8Array } | null;
  card: ModelCard;
  /** Weight bytes of the tfjs model (of the ONNX file for an ONNX-only version). */
  bytes: number;
  fromCache: boolean;
}

type Progress = ((p: LoadProgress) => void) | undefined;

/** Fetches `url`, reporting the bytes as they arrive under the name `file`. */
async function fetchBytes(url: string, file: string, onProgress: Progress): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    throw new ModelFormatError('MODEL_NOT_FOUND', `${url}: ${err instanceof Error ? err.message : String(err)}`, { retriable: true });
  }
  if (!res.ok) throw new ModelFormatError('MODEL_NOT_FOUND', `${url}: HTTP ${res.status} ${res.statusText}`.trim());
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!onProgress || !res.body) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.byteLength;
    onProgress({ file, loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.byteLength;
  }
  return bytes;
}

/** A file of a `{ files }` model: bytes as they are, a Blob read, a URL fetched. */
async function fileBytes(files: ModelFiles['files'], file: string, onProgress: Progress): Promise<Uint8Array> {
  if (!Object.hasOwn(files, file)) throw new ModelFormatError('MODEL_NOT_FOUND', `${file} is not among the model's files (${Object.keys(files).join(', ')})`);
  const v = files[file];
  if (typeof v === 'string') return fetchBytes(new URL(v, globalThis.location?.href).href, file, onProgress);
  const bytes = v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(await v.arrayBuffer());
  onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength });
  return bytes;
}

/**
 * Loads and verifies a model version: from a directory URL (through the Cache API with `useCache`),
 * or from its files by name. `onProgress` hears each file's bytes as they arrive.
 */
export async function loadVerifiedModel(source: string | ModelFiles, useCache: boolean, onProgress?: Progress): Promise<LoadedModel> {
  if (typeof source !== 'string') {
    const read = new Map<string, Uint8Array>();
    const verified = await readVerifiedModel(async (file) => {
      const bytes = await fileBytes(source.files, file, onProgress);
      read.set(file, bytes);
      return bytes;
    }, 'model files');
    return fromVerified(verified, async (file) => read.get(file) ?? fileBytes(source.files, file, undefined), false);
  }
  const base = source;
  const root = new URL(base, globalThis.location?.href);
  const cache = useCache && typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : null;
  const sumsBytes = await fetchBytes(new URL(SHA256SUMS, root).href, SHA256SUMS, onProgress);
  const sums = parseSha256Sums(new TextDecoder().decode(sumsBytes));
  const keyOf = (file: string) => `${new URL(file, root).href}#sha256=${sums.get(file) ?? 'unlisted'}`;
  const fetched = new Map<string, Uint8Array>();
  const all = new Map<string, Uint8Array>();
  let hits = 0;
  const read = async (file: string): Promise<Uint8Array> => {
    if (file === SHA256SUMS) return sumsBytes;
    const cached = await cache?.match(keyOf(file));
    let bytes: Uint8Array;
    if (cached) {
      hits++;
      bytes = new Uint8Array(await cached.arrayBuffer());
      onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength });
    } else {
      bytes = await fetchBytes(new URL(file, root).href, file, onProgress);
      fetched.set(file, bytes);
    }
    all.set(file, bytes);
    return bytes;
  };
  const verified = await readVerifiedModel(read, root.href);
  // Only verified files go into the cache.
  if (cache) for (const [file, bytes] of fetched) await cache.put(keyOf(file), new Response(bytes as Uint8Array<ArrayBuffer>));
  return fromVerified(verified, async (file) => all.get(file)!, fetched.size === 0 && hits > 0);
}

async function fromVerified(verified: Awaited<ReturnType<typeof readVerifiedModel>>, bytesOf: (file: string) => Promise<Uint8Array>, fromCache: boolean): Promise<LoadedModel> {
  const modelJson = verified.modelJson;
  const onnxFile = onnxFileOf(verified.card);
  const onnx = onnxFile ? { file: onnxFile, bytes: await bytesOf(onnxFile) } : null;
  return {
    artifacts: modelJson ? { modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: verified.weightData } : null,
    onnx,
    card: verified.card,
    bytes: modelJson ? verified.weightData.byteLength : onnx!.bytes.byteLength,
    fromCache,
  };
}
