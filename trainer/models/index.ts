/** The architectures edgeseg trains, by name: one registry, one builder per file. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError } from '../../core/index.js';
import { buildUnetMobilenetV2, UNET_MOBILENETV2_DEFAULTS } from './unet_mobilenetv2.js';
import { buildUnetSmall, UNET_SMALL_DEFAULTS } from './unet_small.js';

/** An architecture the trainer can build: description, options and builder. */
export interface ModelEntry {
  description: string;
  /** Every option the architecture takes, with its default. */
  defaults: Record<string, unknown>;
  build(options: Record<string, unknown>): { model: LayersModel; config: Record<string, unknown> };
}

/** The architectures by name. */
export const MODELS = {
  'unet-small': {
    description: 'classic U-Net (two 3×3 convs per level, transposed-conv decoder) for fast CPU work',
    defaults: UNET_SMALL_DEFAULTS,
    build: buildUnetSmall,
  },
  'unet-mobilenetv2': {
    description: "the book's U-Net: MobileNetV2 encoder + pix2pix decoder",
    defaults: UNET_MOBILENETV2_DEFAULTS,
    build: buildUnetMobilenetV2,
  },
} satisfies Record<string, ModelEntry>;

/** A key of MODELS. */
export type ModelName = keyof typeof MODELS;
/** The keys of MODELS. */
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

/** Whether `name` is a key of MODELS. */
export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}

/**
 * Builds a fresh, untrained model of an architecture. Weights come from tfjs' unseeded
 * initialisers; call `seedWeights` for a reproducible start. Returns the resolved options.
 */
export function buildModel(name: string, options: Record<string, unknown> = {}): { model: LayersModel; config: Record<string, unknown> } {
  if (!isModelName(name)) throw new ConfigError(`unknown model '${name}' (models: ${MODEL_NAMES.join(', ')})`);
  return MODELS[name].build(options);
}
