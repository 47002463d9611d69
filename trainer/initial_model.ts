/**
 * The model a run starts from: a fresh, seeded build of the configured architecture, or the
 * weights of an earlier model (`initFrom`), with the encoder frozen when asked.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, type Logger } from '../core/index.js';
import { loadLayersModel } from '../core/node/artifact_fs.js';
import { resolveModelRef } from '../core/node/registry.js';
import type { TrainConfig } from './config.js';
import { buildModel } from './models/index.js';
import { seedWeights } from './models/seeded_weights.js';
import { isEncoderLayer } from './models/unet_mobilenetv2.js';

export interface InitialModel {
  model: LayersModel;
  /** The architecture options the card records. */
  modelConfig: Record<string, unknown>;
  /** The version it was fine-tuned from, if any. */
  parentVersion: string | null;
}

export async function initModel(config: TrainConfig, log: Logger): Promise<InitialModel> {
  if (!config.initFrom) {
    if (config.modelConfig.freezeEncoder && !config.init) throw new ConfigError('freezeEncoder needs encoder weights to keep: start from pretrained weights with --init or from a trained model with --init-from');
    const built = buildModel(config.model, config.modelConfig);
    seedWeights(built.model, config.seed);
    return { model: built.model, modelConfig: built.config, parentVersion: null };
  }
  const loaded = await loadLayersModel(resolveModelRef(config.initFrom, config.models));
  if (loaded.card.architecture.name !== config.model) {
    loaded.model.dispose();
    throw new ConfigError(`--init-from model is ${loaded.card.architecture.name}, not ${config.model}`);
  }
  const model = loaded.model;
  if (config.modelConfig.freezeEncoder) {
    for (const layer of model.layers) if (isEncoderLayer(layer.name)) layer.trainable = false;
    log.info('encoder frozen', { trainableWeights: model.trainableWeights.length });
  }
  return { model, modelConfig: { ...loaded.card.architecture.config, ...config.modelConfig }, parentVersion: loaded.card.version };
}
