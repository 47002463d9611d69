/**
 * The trainer's configuration: one typed object, from CLI flags or a JSON config file, filled with
 * documented defaults and checked by `resolveTrainConfig` with errors that name the field.
 */
import { ConfigError, parseDatasetSpecs } from '../core/index.js';
import { TRAINING_BACKENDS, type TrainingBackend } from '../core/node/backends/select.js';
import { isModelName, MODEL_NAMES } from './models/index.js';
import { checkEncoderFreeze } from './pretrained/encoder_freeze.js';
import { checkSchedule, SCHEDULE_DEFAULTS, type ScheduleName } from './schedule.js';

/** Everything a training run is made from (the CLI flags and `--config` JSON keys). */
export interface TrainConfig {
  /** Architecture: `unet-small` or `unet-mobilenetv2`. @default 'unet-small' */
  model: string;
  /** Architecture options (see trainer/models). @default {} */
  modelConfig: Record<string, unknown>;
  /** Registry name the version is written under. @default the architecture name */
  name: string;
  /** Dataset spec (`synthetic:…`, `oxford:…`, `folder:…`, `feedback:…`). Required. */
  data: string;
  /** @default 5 */
  epochs: number;
  /** @default 8 */
  batchSize: number;
  /** Stop after this many optimizer steps even if epochs remain. @default null (no cap) */
  maxSteps: number | null;
  /** @default 3e-4 */
  learningRate: number;
  /** @default 'constant' */
  schedule: ScheduleName;
  /** @default 0 */
  warmupSteps: number;
  /** @default 'auto' */
  backend: TrainingBackend;
  /** Registry root. @default 'models' */
  out: string;
  /** Seeds weight initialisation, shuffling and augmentation. @default 1 */
  seed: number;
  /** @default 1000 (the book's shuffle buffer) */
  shuffleBuffer: number;
  /** Random horizontal flip of image and mask, p = 0.5. @default true */
  flip: boolean;
  /** Checkpoint every N steps (and at each epoch end). @default 50 */
  checkpointEvery: number;
  /** Stop after this many epochs without a validation mIoU gain of `minDelta`; 0 disables. @default 5 */
  patience: number;
  /** @default 0.001 */
  minDelta: number;
  /** Finish with the weights of the best validation epoch. @default true */
  restoreBest: boolean;
  /** Keep decoded samples in memory between epochs. @default 'memory' */
  cache: 'memory' | 'none';
  /**
   * Training threads: on wasm and cpu, this many data-parallel replicas (each its own worker
   * thread and backend, synchronised BatchNorm and gradients, so the loss curve does not depend
   * on it), capped by the batch size; other backends train on one thread. Also the decode
   * workers; 0 trains and decodes on the calling thread. @default every core
   */
  workers: number | null;
  /** Start from this model's weights (a directory or registry ref) instead of a fresh init. @default null */
  initFrom: string | null;
  /**
   * Pretrained encoder weights to start unet-mobilenetv2 from: a MobileNetV2 TFLite file such as
   * data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite (ImageNet). The model takes the
   * input normalization the weights were trained with. @default null
   */
  init: string | null;
  /** Train only the decoder for this many epochs first (encoder frozen), then the whole model. @default 0 */
  freezeEncoderEpochs: number;
  /** Samples shown in the report's prediction grid. @default 6 */
  reportSamples: number;
}

/** Defaults of TrainConfig. */
export const TRAIN_DEFAULTS: Omit<TrainConfig, 'data' | 'name'> = {
  model: 'unet-small',
  modelConfig: {},
  epochs: 5,
  batchSize: 8,
  maxSteps: null,
  learningRate: SCHEDULE_DEFAULTS.learningRate,
  schedule: SCHEDULE_DEFAULTS.schedule,
  warmupSteps: 0,
  backend: 'auto',
  out: 'models',
  seed: 1,
  shuffleBuffer: 1000,
  flip: true,
  checkpointEvery: 50,
  patience: 5,
  minDelta: 0.001,
  restoreBest: true,
  cache: 'memory',
  workers: null,
  initFrom: null,
  init: null,
  freezeEncoderEpochs: 0,
  reportSamples: 6,
};

const isInt = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

/** Fills defaults and checks every field and cross-field rule. */
export function resolveTrainConfig(input: Partial<TrainConfig> & Record<string, unknown>): TrainConfig {
  const known = new Set([...Object.keys(TRAIN_DEFAULTS), 'data', 'name']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ConfigError(`unknown training option '${key}' (options: ${[...known].sort().join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const c = { ...TRAIN_DEFAULTS, name: '', ...defined } as TrainConfig;
  if (!isModelName(c.model)) throw new ConfigError(`model '${c.model}' is not one of ${MODEL_NAMES.join(', ')}`);
  c.name ||= c.model;
  if (typeof c.data !== 'string' || !c.data) throw new ConfigError('data is required: a dataset spec such as synthetic:count=500,size=128,seed=1');
  parseDatasetSpecs(c.data);
  if (!isInt(c.epochs, 1)) throw new ConfigError(`epochs must be an integer ≥ 1, got ${c.epochs}`);
  if (!isInt(c.batchSize, 1) || c.batchSize > 512) throw new ConfigError(`batchSize must be an integer 1–512, got ${c.batchSize}`);
  if (c.maxSteps !== null && !isInt(c.maxSteps, 1)) throw new ConfigError(`maxSteps must be an integer ≥ 1, got ${c.maxSteps}`);
  if (!TRAINING_BACKENDS.includes(c.backend)) throw new ConfigError(`backend '${c.backend}' is not one of ${TRAINING_BACKENDS.join('|')}`);
  if (!isInt(c.seed, 0)) throw new ConfigError(`seed must be a non-negative integer, got ${c.seed}`);
  if (!isInt(c.shuffleBuffer, 0)) throw new ConfigError(`shuffleBuffer must be an integer ≥ 0, got ${c.shuffleBuffer}`);
  if (!isInt(c.checkpointEvery, 1)) throw new ConfigError(`checkpointEvery must be an integer ≥ 1, got ${c.checkpointEvery}`);
  if (!isInt(c.patience, 0)) throw new ConfigError(`patience must be an integer ≥ 0, got ${c.patience}`);
  if (!(c.minDelta >= 0)) throw new ConfigError(`minDelta must be ≥ 0, got ${c.minDelta}`);
  if (c.cache !== 'memory' && c.cache !== 'none') throw new ConfigError(`cache must be 'memory' or 'none', got ${c.cache}`);
  if (c.workers !== null && !isInt(c.workers, 0)) throw new ConfigError(`workers must be an integer ≥ 0, got ${c.workers}`);
  if (!isInt(c.reportSamples, 0)) throw new ConfigError(`reportSamples must be an integer ≥ 0, got ${c.reportSamples}`);
  if (typeof c.modelConfig !== 'object' || c.modelConfig === null) throw new ConfigError('modelConfig must be an object');
  checkSchedule({ ...SCHEDULE_DEFAULTS, learningRate: c.learningRate, schedule: c.schedule, warmupSteps: c.warmupSteps });
  if (c.init !== null && (typeof c.init !== 'string' || !c.init)) throw new ConfigError(`init must be the path of a pretrained .tflite file, got ${JSON.stringify(c.init)}`);
  checkEncoderFreeze(c);
  return c;
}
