import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, isOnnxOnly, onnxFileOf, type EngineRequest, type Logger, type ModelCard, type ModelRunner } from '../../core/index.js';
import { loadLayersModel, readModelDir } from '../../core/node/artifact_fs.js';
import { resolveModelRef } from '../../core/node/registry.js';
import { selectBackend, type ActiveBackend, type TrainingBackend } from '../../core/node/backends/select.js';
import { loadRunner } from '../../runtime-node/pool/load_runner.js';

export interface OpenedModel {
  model: LayersModel;
  card: ModelCard;
  dir: string;
  backend: ActiveBackend;
}

/** Picks the backend, resolves `--model` (directory or registry ref) and loads it verified. */
export async function openModel(ref: string, options: { backend?: TrainingBackend; root?: string; log?: Logger }): Promise<OpenedModel> {
  const backend = await selectBackend(options.backend ?? 'auto', options.log);
  const { model, card, dir } = await loadLayersModel(resolveModelRef(ref, options.root));
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
 * Like `openModel`, as an engine runner: ONNX Runtime (onnxruntime-node, the card's contract) for
 * an ONNX-only version — an imported ONNX model — or with engine `ort`; tfjs layers otherwise.
 * `auto` keeps tfjs when the version has a tfjs model, so a command's results do not change with
 * an ONNX variant beside it.
 */
export async function openRunner(ref: string, options: { engine?: EngineRequest; backend?: TrainingBackend; root?: string; log?: Logger }): Promise<OpenedRunner> {
  const backend = await selectBackend(options.backend ?? 'auto', options.log);
  const dir = resolveModelRef(ref, options.root);
  const { card } = await readModelDir(dir);
  const engine = options.engine ?? 'auto';
  if (engine === 'ort' && !onnxFileOf(card)) throw new ConfigError(`--engine ort needs an ONNX model and ${dir} has none; convert it with --format both, or use --engine auto|tfjs`);
  if (engine === 'tfjs' && isOnnxOnly(card)) throw new ConfigError(`${dir} is ONNX only (${onnxFileOf(card)}); use --engine auto|ort`);
  const chosen = engine === 'ort' || isOnnxOnly(card) ? 'ort' : 'tfjs';
  const { runner } = await loadRunner(dir, chosen, { ortThreads: 1, ortProvider: 'cpu' });
  options.log?.info('model', { dir, version: card.version, precision: card.precision, engine: chosen });
  return { runner, card, dir, backend };
}
