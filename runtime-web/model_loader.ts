/**
 * Fetches a model version and verifies it with core's reader before any weight is used: every
 * file against SHA256SUMS (a corrupt shard is refused, naming the file), the weights manifest
 * against the shards, the card against the contract. Verified files are kept in the Cache API
 * under their sha256, so a version is downloaded once and a changed file is never served stale.
 */
import type { io } from '@tensorflow/tfjs-core';
import { ModelFormatError, onnxFileOf, parseSha256Sums, readVerifiedModel, SHA256SUMS, type ModelCard } from '../core/index.js';

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

async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    throw new ModelFormatError('MODEL_NOT_FOUND', `${url}: ${err instanceof Error ? err.message : String(err)}`, { retriable: true });
  }
  if (!res.ok) throw new ModelFormatError('MODEL_NOT_FOUND', `${url}: HTTP ${res.status} ${res.statusText}`.trim());
  return new Uint8Array(await res.arrayBuffer());
}

export async function loadVerifiedModel(base: string, useCache: boolean): Promise<LoadedModel> {
  const root = new URL(base, globalThis.location?.href);
  const cache = useCache && typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : null;
  const sumsBytes = await fetchBytes(new URL(SHA256SUMS, root).href);
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
    } else {
      bytes = await fetchBytes(new URL(file, root).href);
      fetched.set(file, bytes);
    }
    all.set(file, bytes);
    return bytes;
  };
  const verified = await readVerifiedModel(read, root.href);
  // Only verified files go into the cache.
  if (cache) for (const [file, bytes] of fetched) await cache.put(keyOf(file), new Response(bytes as Uint8Array<ArrayBuffer>));
  const modelJson = verified.modelJson;
  const onnxFile = onnxFileOf(verified.card);
  const onnx = onnxFile ? { file: onnxFile, bytes: all.get(onnxFile)! } : null;
  return {
    artifacts: modelJson ? { modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: verified.weightData } : null,
    onnx,
    card: verified.card,
    bytes: modelJson ? verified.weightData.byteLength : onnx!.bytes.byteLength,
    fromCache: fetched.size === 0 && hits > 0,
  };
}
