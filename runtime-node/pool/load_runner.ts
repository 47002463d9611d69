/**
 * Loads a model version into one of core's engine runners inside a runtime-node worker: tfjs layers
 * (on the worker's tfjs backend) or ONNX Runtime (onnxruntime-node injected into core's runner,
 * with core's one set of session options).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ChecksumError, ModelFormatError, type EngineKind, type ModelCard } from '../../core/index.js';
import { onnxFileOf, sha256Hex } from '../../core/artifacts.js';
import { inputSizeOf } from '../../core/contract.js';
import { tfjsRunner, timeRuns, type ModelRunner } from '../../core/engine.js';
import { ortRunner, type OrtSessionSettings } from '../../core/ort_runner.js';
import { loadLayersModel, readModelDir } from '../../core/node/artifact_fs.js';

/** A verified model in one engine, with its card. */
export interface LoadedRunner {
  card: ModelCard;
  runner: ModelRunner;
}

async function loadTfjs(dir: string): Promise<LoadedRunner> {
  const { model, card } = await loadLayersModel(dir);
  return { card, runner: tfjsRunner(model) };
}

async function loadOrt(dir: string, settings: OrtSessionSettings): Promise<LoadedRunner> {
  const { card } = await readModelDir(dir);
  const file = onnxFileOf(card);
  if (!file) throw new ModelFormatError('MODEL_NOT_FOUND', `${dir} has no ONNX model; convert with --format both, or use the tfjs engine`);
  // Hash what is loaded, not only what was verified a moment earlier.
  const bytes = readFileSync(join(dir, file));
  const want = card.files.find((f) => f.path === file)!.sha256;
  if ((await sha256Hex(bytes)) !== want) throw new ChecksumError(file, `${file}: sha256 does not match the card; the file changed after verification`);
  // The card's contract: an imported ONNX model keeps its own tensor names and layout.
  return { card, runner: await ortRunner(ort, bytes, { ...settings, contract: card.contract }) };
}

/**
 * Loads (verifies) the model in `dir` into `engine` and warms it up on a frame of its own size:
 * the first run compiles kernels and allocates.
 */
export async function loadRunner(dir: string, engine: EngineKind, settings: { ortThreads: number; ortProvider: 'cpu' | 'cuda' }): Promise<LoadedRunner> {
  const loaded = engine === 'ort' ? await loadOrt(dir, { provider: settings.ortProvider, threads: settings.ortThreads }) : await loadTfjs(dir);
  try {
    await timeRuns(loaded.runner, 1, inputSizeOf(loaded.card));
  } catch (err) {
    await loaded.runner.dispose();
    throw err;
  }
  return loaded;
}
