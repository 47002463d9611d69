/**
 * A teacher: any registry version (an imported .tflite/ONNX/Keras model or one edgeseg trained)
 * opened for labelling. It runs at the teacher's own input size and normalization, read from its
 * card, on ONNX Runtime when the version has an ONNX model (every imported TFLite and ONNX model
 * does) and on tfjs otherwise, and gives per-pixel pet log-odds for a photo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  ConfigError,
  imageToInput,
  inputSizeOf,
  normalizationOf,
  onnxFileOf,
  ortRunner,
  sha256Hex,
  tfjsRunner,
  type ModelCard,
  type ModelRunner,
  type PixelImage,
} from '../../core/index.js';
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
  /** Pet log-odds for one photo at the teacher's input size (see petLogOdds). */
  logOdds(image: PixelImage): Promise<{ data: Float32Array; width: number; height: number; logits: Float32Array }>;
  dispose(): Promise<void>;
}

export interface OpenTeacherOptions {
  /** Registry root a ref is resolved in. @default 'models' */
  root?: string;
  /** `cat,dog=pet`: which teacher classes are a pet. */
  classes: string;
  /** ONNX Runtime intra-op threads. @default 1 */
  threads?: number;
}

export async function openTeacher(ref: string, o: OpenTeacherOptions): Promise<Teacher> {
  const dir = resolveModelRef(ref, o.root);
  const { card } = await readModelDir(dir);
  const classes = card.contract.classes;
  const map = parseClassMap(o.classes, classes);
  const size = inputSizeOf(card);
  const onnx = onnxFileOf(card);
  let runner: ModelRunner;
  let digest: string;
  if (onnx) {
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
      return { data: petLogOdds(l.data, l.width * l.height, l.classes, map), width: l.width, height: l.height, logits: l.data };
    },
    dispose: () => runner.dispose(),
  };
}

/** Resizes a float map bilinearly (half-pixel centres, core's one resize) to `width` × `height`. */
export function resizeFloatMap(data: Float32Array, from: { width: number; height: number }, width: number, height: number): Float32Array {
  if (from.width === width && from.height === height) return data;
  return tf.tidy(() => {
    const t = tf.tensor3d(data, [from.height, from.width, 1]);
    return tf.image.resizeBilinear(t, [height, width], false, true).dataSync() as Float32Array;
  });
}
