import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Logger, ModelCard } from '../../core/index.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { resolveModelRef } from '../../core/node/registry.js';
import { selectBackend, type ActiveBackend, type TrainingBackend } from '../../core/node/backends/select.js';

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
