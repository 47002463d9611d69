/**
 * A teacher: any registry version (an imported .tflite/ONNX/Keras model or one edgeseg trained)
 * opened for labelling. It runs at the teacher's own input size and normalization, read from its
 * card, on ONNX Runtime when the version has an ONNX model (every imported TFLite and ONNX model
 * does) and on tfjs otherwise, and gives per-pixel pet log-odds for a photo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError, type ModelCard, type PixelImage } from '../../core/index.js';
import { isOnnxOnly, onnxFileOf, sha256Hex } from '../../core/artifacts.js';
import { inputSizeOf, normalizationOf } from '../../core/contract.js';
import { tfjsRunner, type ModelRunner } from '../../core/engine.js';
import { resampleData } from '../../core/output_geometry.js';
import { chooseEngine } from '../../core/engine_choice.js';
import { ortRunner } from '../../core/ort_runner.js';
import { imageToInput } from '../../core/preprocess.js';
import { loadLayersModel, readModelDir } from '../../core/node/artifact_fs.js';
import { resolveModelRef } from '../../core/node/registry.js';
import { tf } from '../../core/node/tfjs.js';
import { parseClassMap, petLogOdds, type ClassMap } from './class_map.js';

/** An opened teacher. */
export interface Teacher {
  card: ModelCard;
  dir: string;
  /** sha256 of the file that runs (model.onnx, or model.json for a tfjs version). */
  digest: string;
  engine: 'ort' | 'tfjs';
  classes: readonly string[];
  map: ClassMap;
  /** Index of the teacher's class named 'background', if it has one (PASCAL's 0). */
  background: number;
  /** Teacher logits for one photo, NHWC at the teacher's input size. */
  logits(image: PixelImage): Promise<{ data: Float32Array; width: number; height: number; classes: number }>;
  /** Pet log-odds for one photo (see petLogOdds), at the photo's size when it is smaller than the teacher's input, else at the teacher's; `logits` at the same size. */
  logOdds(image: PixelImage): Promise<{ data: Float32Array; width: number; height: number; logits: Float32Array }>;
  dispose(): Promise<void>;
}

export interface OpenTeacherOptions {
  /** Registry root a ref is resolved in. @default 'models' */
  models?: string;
  /** `cat,dog=pet`: which teacher classes are a pet. */
  classes: string;
  /** ONNX Runtime intra-op threads. @default 1 */
  threads?: number;
}

export async function openTeacher(ref: string, o: OpenTeacherOptions): Promise<Teacher> {
  const dir = resolveModelRef(ref, o.models);
  const { card } = await readModelDir(dir);
  const classes = card.contract.classes;
  const map = parseClassMap(o.classes, classes);
  const size = inputSizeOf(card);
  const onnx = onnxFileOf(card);
  let runner: ModelRunner;
  let digest: string;
  // The teacher runs where `auto` says (core's chooseEngine): ONNX Runtime on an ONNX file, else tfjs.
  if (onnx && chooseEngine('auto', { tfjs: !isOnnxOnly(card), onnx, where: dir }).chosen === 'ort') {
    const bytes = new Uint8Array(readFileSync(join(dir, onnx)));
    digest = await sha256Hex(bytes);
    runner = await ortRunner(ort, bytes, { contract: card.contract, threads: o.threads ?? 1 });
  } else {
    const loaded = await loadLayersModel(dir);
    digest = card.files.find((f) => f.path === 'model.json')?.sha256 ?? '';
    runner = tfjsRunner(loaded.model);
  }
  const normalization = normalizationOf(card);
  const logits: Teacher['logits'] = async (image) => {
    const batch = tf.tidy(() => tf.expandDims(imageToInput(image, normalization, size)) as tf.Tensor4D);
    let out: tf.Tensor4D | Float32Array;
    try {
      out = await runner.predict(batch);
    } finally {
      batch.dispose();
    }
    const data = out instanceof Float32Array ? out : ((await out.data()) as Float32Array);
    if (!(out instanceof Float32Array)) out.dispose();
    const k = data.length / (size.width * size.height);
    if (k !== classes.length) throw new ConfigError(`teacher ${card.name}@${card.version} gave ${k} values per pixel; its card names ${classes.length} classes`);
    return { data, width: size.width, height: size.height, classes: k };
  };
  return {
    card,
    dir,
    digest,
    engine: onnx ? 'ort' : 'tfjs',
    classes,
    map,
    background: classes.findIndex((c) => c.toLowerCase() === 'background'),
    logits,
    async logOdds(image) {
      const l = await logits(image);
      // Logits are resized before the softmax, as the teacher's own last resize does; at the smaller
      // of the two sizes, so a 224² photo costs 224² softmaxes rather than 513².
      const small = image.width * image.height < l.width * l.height;
      const at = small ? { width: image.width, height: image.height } : l;
      const data = small ? resizeFloatMap(l.data, l, image.width, image.height, l.classes) : l.data;
      return { data: petLogOdds(data, at.width * at.height, l.classes, map), width: at.width, height: at.height, logits: data };
    },
    dispose: () => runner.dispose(),
  };
}

/**
 * Resizes an HWC float map of `channels` bilinearly to `width` × `height` with half-pixel centres,
 * as tfjs' `resizeBilinear(…, alignCorners false, halfPixelCenters true)` (core's one resize)
 * does: core's `resampleData` over the whole map, in plain loops (tfjs' wasm and cpu kernels took
 * 0.5–0.9 s for a 513²×21 teacher output; this takes a few milliseconds).
 */
export function resizeFloatMap(data: Float32Array, from: { width: number; height: number }, width: number, height: number, channels = 1): Float32Array {
  if (from.width === width && from.height === height) return data;
  return resampleData(data, from.width, from.height, channels, { x: 0, y: 0, width: from.width, height: from.height }, width, height);
}
