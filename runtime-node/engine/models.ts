/**
 * The two engines a runtime-node worker can hold a model in, behind one interface: tfjs layers
 * (on the worker's tfjs backend) and ONNX Runtime (onnxruntime-node, CPU execution provider).
 * Both take the same preprocessed [N, 128, 128, 3] batch and return each frame's mask and
 * statistics: tfjs on its backend (`summarizeLogits`), ONNX Runtime in plain JavaScript on the
 * logits it returns (`summarizeLogitsData`; a round trip through tfjs cost a quarter of the frame).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ChecksumError, INPUT_NAME, ModelFormatError, INPUT_SIZE, onnxFileOf, OUTPUT_NAME, sha256Hex, summarizeLogits, summarizeLogitsData, type ModelCard, type Segmentation } from '../../core/index.js';
import { loadLayersModel, readModelDir } from '../../core/node/artifact_fs.js';
import { tf } from '../../core/node/tfjs.js';
import type { EngineKind } from './protocol.js';

export interface WorkerModel {
  engine: EngineKind;
  card: ModelCard;
  /** Mask and statistics of each frame of a preprocessed batch (the caller disposes it). */
  segment(batch: tf.Tensor4D): Promise<Segmentation[]>;
  dispose(): Promise<void>;
}

async function loadTfjs(dir: string): Promise<WorkerModel> {
  const { model, card } = await loadLayersModel(dir);
  // Warm up: the first run compiles kernels and allocates. The block returns nothing, so tidy
  // disposes the output too (a returned tensor would outlive the model: one per swap).
  tf.tidy(() => {
    model.predict(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3]));
  });
  return {
    engine: 'tfjs',
    card,
    segment: async (batch) => {
      const logits = model.predict(batch) as tf.Tensor4D;
      try {
        return await summarizeLogits(logits);
      } finally {
        logits.dispose();
      }
    },
    dispose: async () => {
      model.dispose();
    },
  };
}

async function loadOrt(dir: string, intraOpThreads: number, provider: 'cpu' | 'cuda'): Promise<WorkerModel> {
  const { card } = await readModelDir(dir);
  const file = onnxFileOf(card);
  if (!file) throw new ModelFormatError('MODEL_NOT_FOUND', `${dir} has no ONNX model; convert with --format both, or use the tfjs engine`);
  // Hash what is loaded, not only what was verified a moment earlier.
  const bytes = readFileSync(join(dir, file));
  const want = card.files.find((f) => f.path === file)!.sha256;
  if ((await sha256Hex(bytes)) !== want) throw new ChecksumError(file, `${file}: sha256 does not match the card; the file changed after verification`);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const run = async (data: Float32Array, n: number) => {
    const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', data, [n, INPUT_SIZE, INPUT_SIZE, 3]) }, [OUTPUT_NAME]);
    const logits = out[OUTPUT_NAME];
    const values = logits.data as Float32Array;
    logits.dispose();
    return values;
  };
  await run(new Float32Array(INPUT_SIZE * INPUT_SIZE * 3), 1);
  return {
    engine: 'ort',
    card,
    segment: async (batch) => {
      const n = batch.shape[0];
      return summarizeLogitsData(await run((await batch.data()) as Float32Array, n), n);
    },
    dispose: () => session.release(),
  };
}

/** Loads (verifies, warms) the model in `dir` into `engine`. */
export function loadWorkerModel(dir: string, engine: EngineKind, settings: { ortThreads: number; ortProvider: 'cpu' | 'cuda' }): Promise<WorkerModel> {
  return engine === 'ort' ? loadOrt(dir, settings.ortThreads, settings.ortProvider) : loadTfjs(dir);
}
