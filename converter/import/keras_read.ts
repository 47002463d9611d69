/**
 * Reads the Keras-family files `edgeseg import` takes into a model config and its stored
 * variables: a Keras 3 `.keras` (zip of `config.json`, `metadata.json`, `model.weights.h5`), a
 * full-model `.h5` (Keras 3 or tf.keras 2: a `model_config` attribute and `model_weights/`), and
 * a tensorflowjs_converter layers directory (`model.json` whose topology may nest the config under
 * `model_config`, with Keras 3's `batch_shape` inputs that stock tfjs refuses, + weight shards).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { io } from '@tensorflow/tfjs-core';
import type { SourceFormat } from '../../core/index.js';
import { Hdf5File } from './hdf5.js';
import { ImportError } from './import_error.js';
import { modelConfigOf, type KerasModelConfig } from './keras_config.js';
import { weightsFromKeras3, weightsFromModelH5, weightsFromTfjs, type WeightStore } from './keras_weights.js';

export interface KerasSource {
  format: Exclude<SourceFormat, 'onnx'>;
  config: KerasModelConfig;
  weights: WeightStore;
  /** What wrote the file (`keras 3.15.1`, `tensorflowjs 4.22.0`), or null. */
  producer: string | null;
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', `${where} is not valid JSON`, { cause: err });
  }
}

/** A Keras 3 `.keras` archive: its config.json, its metadata's Keras version and model.weights.h5. */
export function readKerasArchive(bytes: Uint8Array, file: string): KerasSource {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, { filter: (f) => ['config.json', 'metadata.json', 'model.weights.h5'].includes(f.name) });
  } catch (err) {
    throw new ImportError('IMPORT_MALFORMED', `${file} is not a readable zip (a .keras file is one)`, { cause: err });
  }
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
  const config = modelConfigOf(parseJson(new TextEncoder().encode(text), `${file} model_config`), `${file} model_config`);
  const version = h5.attr('/', 'keras_version');
  return { format: 'keras-h5', config, weights: weightsFromModelH5(h5), producer: typeof version === 'string' ? `keras ${version}` : null };
}

/** A tensorflowjs_converter layers directory; a graph model is refused (it holds TF ops, not layers). */
export function readTfjsDir(dir: string): KerasSource {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new ImportError('IMPORT_UNSUPPORTED_FORMAT', `${dir} has no model.json; it is not a tensorflowjs_converter directory`);
  const json = parseJson(readFileSync(path), path) as io.ModelJSON & { format?: string };
  if (json.format === 'graph-model' || (json.modelTopology as { node?: unknown })?.node) {
    throw new ImportError(
      'IMPORT_UNSUPPORTED_FORMAT',
      `${dir} is a tfjs graph model (TensorFlow ops, no layers), which edgeseg cannot fold, quantize or export; import the Keras file it came from, convert it with tensorflowjs_converter --output_format tfjs_layers_model, or export the SavedModel to ONNX (tf2onnx) and import that`,
    );
  }
  const config = modelConfigOf(json.modelTopology, path);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    const shard = join(dir, p);
    if (!existsSync(shard)) throw new ImportError('IMPORT_MALFORMED', `${dir}: weight shard ${p} listed in model.json is missing`);
    return readFileSync(shard);
  });
  const data = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let o = 0;
  for (const s of shards) {
    data.set(s, o);
    o += s.byteLength;
  }
  const keras = (json.modelTopology as { keras_version?: string }).keras_version;
  const producer = [json.convertedBy, keras ? `keras ${keras}` : null].filter(Boolean).join(' from ') || null;
  return { format: 'tfjs-layers', config, weights: weightsFromTfjs(specs, data.buffer), producer };
}
