import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type EngineRequest, type Logger, type ModelCard } from '../core/index.js';
import { isOnnxOnly, onnxFileOf } from '../core/artifacts.js';
import { type ModelRunner } from '../core/engine.js';
import { chooseEngine } from '../core/engine_choice.js';
import { loadLayersModel, readModelDir } from '../core/node/artifact_fs.js';
import { resolveModelRef } from '../core/node/registry.js';
import { selectBackend, type ActiveBackend, type TrainingBackend } from '../core/node/backends/select.js';
import { loadRunner } from '../runtime-node/pool/load_runner.js';

export interface OpenedModel {
  model: LayersModel;
  card: ModelCard;
  dir: string;
  backend: ActiveBackend;
}

/** Picks the backend, resolves `--model` (directory or registry ref) and loads it verified. */
export async function openModel(ref: string, options: { backend?: TrainingBackend; models?: string; log?: Logger }): Promise<OpenedModel> {
  const backend = await selectBackend(options.backend ?? 'auto', options.log);
  const { model, card, dir } = await loadLayersModel(resolveModelRef(ref, options.models));
  options.log?.info('model', { dir, version: card.version, precision: card.precision });
  return { model, card, dir, backend };
}

export interface OpenedRunner {
  runner: ModelRunner;
  card: ModelCard;
  dir: string;
  backend: ActiveBackend;
}

/**
 * Like `openModel`, as an engine runner: ONNX Runtime (onnxruntime-node, the card's contract) or
 * tfjs layers, as core's chooseEngine decides (`auto`: ONNX Runtime when the version has an ONNX
 * file, as in runtime-node).
 */
export async function openRunner(ref: string, options: { engine?: EngineRequest; backend?: TrainingBackend; models?: string; log?: Logger }): Promise<OpenedRunner> {
  const backend = await selectBackend(options.backend ?? 'auto', options.log);
  const dir = resolveModelRef(ref, options.models);
  const { card } = await readModelDir(dir);
  const { chosen } = chooseEngine(options.engine ?? 'auto', { tfjs: !isOnnxOnly(card), onnx: onnxFileOf(card), where: dir });
  const { runner } = await loadRunner(dir, chosen, { ortThreads: 1, ortProvider: 'cpu' });
  options.log?.info('model', { dir, version: card.version, precision: card.precision, engine: chosen });
  return { runner, card, dir, backend };
}
