/**
 * Reads the Keras-family files `edgeseg import` takes into a model config and its stored
 * variables: a Keras 3 `.keras` (zip of `config.json`, `metadata.json`, `model.weights.h5`), a
 * full-model `.h5` (Keras 3 or tf.keras 2: a `model_config` attribute and `model_weights/`), and
 * a tensorflowjs_converter layers directory (`model.json` whose topology may nest the config under
 * `model_config`, with Keras 3's `batch_shape` inputs that stock tfjs refuses, + weight shards).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { parseJsonBounded } from '../../core/bounded_json.js';
import { type SourceFormat } from '../../core/card.js';
import { describeIssues, weightsManifest } from '../../core/schemas.js';
import { readFileCapped, resolveInside } from '../../core/node/safe_read.js';
import { Hdf5File } from './hdf5.js';
import { ImportError } from '../../core/errors.js';
import { IMPORT_LIMITS } from './import_limits.js';
import { modelConfigOf, type KerasModelConfig } from './keras_config.js';
import { weightsFromKeras3, weightsFromModelH5, weightsFromTfjs, type WeightStore } from './keras_weights.js';
import { readZipEntries } from './zip_entries.js';

export interface KerasSource {
  format: Exclude<SourceFormat, 'onnx'>;
  config: KerasModelConfig;
  weights: WeightStore;
  /** What wrote the file (`keras 3.15.1`, `tensorflowjs 4.22.0`), or null. */
  producer: string | null;
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  if (bytes.length > IMPORT_LIMITS.maxJsonBytes) throw new ImportError('IMPORT_MALFORMED', `${where} is ${bytes.length} bytes; the limit for a model's JSON is ${IMPORT_LIMITS.maxJsonBytes}`);
  return parseJsonBounded(new TextDecoder().decode(bytes), where, (m) => new ImportError('IMPORT_MALFORMED', m));
}

/** A Keras 3 `.keras` archive: its config.json, its metadata's Keras version and model.weights.h5. */
export function readKerasArchive(bytes: Uint8Array, file: string): KerasSource {
  const entries = readZipEntries(bytes, file, { 'config.json': IMPORT_LIMITS.maxJsonBytes, 'metadata.json': IMPORT_LIMITS.maxJsonBytes, 'model.weights.h5': IMPORT_LIMITS.maxFileBytes });
  for (const need of ['config.json', 'model.weights.h5']) {
    if (!entries[need]) throw new ImportError('IMPORT_MALFORMED', `${file} has no ${need}; it is not a Keras 3 model archive`);
  }
  const config = modelConfigOf(parseJson(entries['config.json'], `${file}/config.json`), `${file}/config.json`);
  const meta = entries['metadata.json'] ? (parseJson(entries['metadata.json'], `${file}/metadata.json`) as { keras_version?: string }) : {};
  const weights = weightsFromKeras3(new Hdf5File(entries['model.weights.h5'], `${file}/model.weights.h5`), config);
  return { format: 'keras', config, weights, producer: meta.keras_version ? `keras ${meta.keras_version}` : null };
}

/** A full-model HDF5 file (Keras 3 or tf.keras 2); a weights-only file is refused by name. */
export function readModelH5(bytes: Uint8Array, file: string): KerasSource {
  const h5 = new Hdf5File(bytes, file);
  const text = h5.attr('/', 'model_config');
  if (typeof text !== 'string') {
    throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `${file} holds no model_config: it is a weights-only HDF5 file; save the full model (model.save('model.h5') or model.save('model.keras'))`);
  }
  if (text.length > IMPORT_LIMITS.maxJsonBytes) throw new ImportError('IMPORT_MALFORMED', `${file} model_config is ${text.length} characters; the limit is ${IMPORT_LIMITS.maxJsonBytes}`);
  const config = modelConfigOf(parseJson(new TextEncoder().encode(text), `${file} model_config`), `${file} model_config`);
  const version = h5.attr('/', 'keras_version');
  return { format: 'keras-h5', config, weights: weightsFromModelH5(h5), producer: typeof version === 'string' ? `keras ${version}` : null };
}

/** Stored bytes per element of each tfjs weight dtype (a quantized weight is stored in its quantization dtype). */
const BYTES_PER: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the manifest's weights occupy in the shards, checked against the file cap before anything is allocated. */
function declaredBytes(specs: io.WeightsManifestEntry[], where: string): number {
  let total = 0;
  for (const w of specs) {
    total += w.shape.reduce((n, d) => n * d, 1) * BYTES_PER[w.quantization?.dtype ?? w.dtype];
    if (total > IMPORT_LIMITS.maxFileBytes) throw new ImportError('IMPORT_MALFORMED', `${where}: the weights declare more than ${IMPORT_LIMITS.maxFileBytes} bytes (weight ${w.name} has shape [${w.shape.join(', ')}])`, { subject: w.name });
  }
  return total;
}

/** A tensorflowjs_converter layers directory; a graph model is refused (it holds TF ops, not layers). */
export function readTfjsDir(dir: string): KerasSource {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `${dir} has no model.json; it is not a tensorflowjs_converter directory`);
  const json = parseJson(readFileCapped(path, { maxBytes: IMPORT_LIMITS.maxJsonBytes, what: 'model.json' }), path) as io.ModelJSON & { format?: string };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ImportError('IMPORT_MALFORMED', `${path} is not a JSON object`);
  if (json.format === 'graph-model' || (json.modelTopology as { node?: unknown })?.node) {
    throw new ImportError(
      'IMPORT_UNSUPPORTED_FORMAT',
      `${dir} is a tfjs graph model (TensorFlow ops, no layers), which edgeseg cannot fold, quantize or export; import the Keras file it came from, convert it with tensorflowjs_converter --output_format tfjs_layers_model, or export the SavedModel to ONNX (tf2onnx) and import that`,
    );
  }
  const config = modelConfigOf(json.modelTopology, path);
  const manifest = weightsManifest.safeParse(json.weightsManifest);
  if (!manifest.success) throw new ImportError('IMPORT_MALFORMED', `${path}: weightsManifest: ${describeIssues(manifest.error, 'weightsManifest')}`);
  const specs = manifest.data.flatMap((g) => g.weights) as io.WeightsManifestEntry[];
  const declared = declaredBytes(specs, path);
  // Every shard resolves inside the folder and is a regular file; together they hold exactly the declared bytes.
  const paths = manifest.data.flatMap((g) => g.paths).map((p) => resolveInside(dir, p, 'weight shard'));
  const data = new Uint8Array(declared);
  let o = 0;
  for (const [i, shardPath] of paths.entries()) {
    const shard = readFileCapped(shardPath, { maxBytes: declared - o, what: `weight shard ${manifest.data.flatMap((g) => g.paths)[i]}` });
    data.set(shard, o);
    o += shard.byteLength;
  }
  if (o !== declared) throw new ImportError('IMPORT_MALFORMED', `${dir}: the weight shards hold ${o} bytes; model.json declares ${declared}`);
  const keras = (json.modelTopology as { keras_version?: string }).keras_version;
  const producer = [json.convertedBy, keras ? `keras ${keras}` : null].filter(Boolean).join(' from ') || null;
  return { format: 'tfjs-layers', config, weights: weightsFromTfjs(specs, data.buffer), producer };
}
