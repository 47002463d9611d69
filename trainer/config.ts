/**
 * The trainer's configuration: one typed object, from CLI flags or a JSON config file, filled with
 * documented defaults and checked by `resolveTrainConfig` with errors that name the field.
 */
import { ConfigError } from '../core/index.js';
import { parseDatasetSpecs } from '../core/dataset_spec.js';
import { z } from '../core/schemas.js';
import { TRAINING_BACKENDS, type TrainingBackend } from '../core/node/backends/select.js';
import { isModelName, MODEL_NAMES } from './models/index.js';
import { checkEncoderFreeze } from './pretrained/encoder_freeze.js';
import { LOSS_DEFAULTS } from './loss.js';
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
  /** Registry root (`edgeseg train --out`). @default 'models' */
  models: string;
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
  /**
   * Weight of a teacher's soft targets (`edgeseg label` writes them beside its trimaps) against the
   * hard labels, 0–1, on the pixels that have one; 0 trains on hard labels only (trainer/loss.ts). @default 0
   */
  softTargets: number;
  /** Distillation temperature for the soft targets. @default 2 */
  temperature: number;
  /** The border band of teacher-labelled samples: trained on (`learn`) or left out of the loss (`ignore`). @default 'learn' */
  teacherBorder: 'learn' | 'ignore';
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
  models: 'models',
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
  softTargets: LOSS_DEFAULTS.softTargets,
  temperature: LOSS_DEFAULTS.temperature,
  teacherBorder: LOSS_DEFAULTS.teacherBorder,
};

const isInt = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

/** A field that must pass `ok`; `message` names the field and the value, as the CLI shows it. */
const field = (ok: (v: unknown) => boolean, message: (v: unknown) => string) => z.unknown().refine(ok, { error: (i) => message(i.input) });
const int = (name: string, min: number) => field((v) => isInt(v, min), (v) => `${name} must be ${min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`}, got ${String(v)}`);

/**
 * The training config (CLI flags, a `--config` JSON file, the API) parsed at its boundary; the
 * cross-field rules (schedule, encoder freeze) are checked after it.
 */
export const trainConfigSchema = z.object({
  model: field((v) => typeof v === 'string' && isModelName(v), (v) => `model '${String(v)}' is not one of ${MODEL_NAMES.join(', ')}`),
  data: field((v) => typeof v === 'string' && v !== '', () => 'data is required: a dataset spec such as synthetic:count=500,size=128,seed=1'),
  name: z.string({ error: 'name must be a string' }),
  epochs: int('epochs', 1),
  batchSize: field((v) => isInt(v, 1) && (v as number) <= 512, (v) => `batchSize must be an integer 1–512, got ${String(v)}`),
  maxSteps: field((v) => v === null || isInt(v, 1), (v) => `maxSteps must be an integer ≥ 1, got ${String(v)}`),
  backend: field((v) => (TRAINING_BACKENDS as readonly unknown[]).includes(v), (v) => `backend '${String(v)}' is not one of ${TRAINING_BACKENDS.join('|')}`),
  seed: int('seed', 0),
  shuffleBuffer: field((v) => isInt(v, 0), (v) => `shuffleBuffer must be an integer ≥ 0, got ${String(v)}`),
  checkpointEvery: int('checkpointEvery', 1),
  patience: field((v) => isInt(v, 0), (v) => `patience must be an integer ≥ 0, got ${String(v)}`),
  minDelta: field((v) => typeof v === 'number' && v >= 0, (v) => `minDelta must be ≥ 0, got ${String(v)}`),
  cache: field((v) => v === 'memory' || v === 'none', (v) => `cache must be 'memory' or 'none', got ${String(v)}`),
  workers: field((v) => v === null || isInt(v, 0), (v) => `workers must be an integer ≥ 0, got ${String(v)}`),
  reportSamples: field((v) => isInt(v, 0), (v) => `reportSamples must be an integer ≥ 0, got ${String(v)}`),
  modelConfig: field((v) => typeof v === 'object' && v !== null && !Array.isArray(v), () => 'modelConfig must be an object'),
  init: field((v) => v === null || (typeof v === 'string' && v !== ''), (v) => `init must be the path of a pretrained .tflite file, got ${JSON.stringify(v)}`),
  initFrom: field((v) => v === null || (typeof v === 'string' && v !== ''), (v) => `initFrom must be a model directory or registry ref, got ${JSON.stringify(v)}`),
  models: field((v) => typeof v === 'string' && v !== '', (v) => `models must be a directory, got ${JSON.stringify(v)}`),
  flip: field((v) => typeof v === 'boolean', (v) => `flip must be true or false, got ${JSON.stringify(v)}`),
  restoreBest: field((v) => typeof v === 'boolean', (v) => `restoreBest must be true or false, got ${JSON.stringify(v)}`),
  softTargets: field((v) => typeof v === 'number' && v >= 0 && v <= 1, (v) => `softTargets must be a weight from 0 to 1, got ${JSON.stringify(v)}`),
  temperature: field((v) => typeof v === 'number' && v >= 1 && v <= 20, (v) => `temperature must be from 1 to 20, got ${JSON.stringify(v)}`),
  teacherBorder: field((v) => v === 'learn' || v === 'ignore', (v) => `teacherBorder must be 'learn' or 'ignore', got ${JSON.stringify(v)}`),
});

/** Fills defaults and checks every field and cross-field rule. */
export function resolveTrainConfig(given: Partial<TrainConfig> & Record<string, unknown>): TrainConfig {
  // Config files and unfinished runs (run.json) written before the registry root was called `models` say `out`.
  const { out, ...rest } = given;
  const input = out === undefined ? given : { ...rest, models: rest.models ?? out };
  const known = new Set([...Object.keys(TRAIN_DEFAULTS), 'data', 'name']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ConfigError(`unknown training option '${key}' (options: ${[...known].sort().join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const c = { ...TRAIN_DEFAULTS, name: '', ...defined } as TrainConfig;
  const parsed = trainConfigSchema.safeParse(c);
  // One error, worded as before: the first field that fails, named in its message.
  if (!parsed.success) throw new ConfigError(parsed.error.issues[0].message);
  c.name ||= c.model;
  parseDatasetSpecs(c.data);
  checkSchedule({ ...SCHEDULE_DEFAULTS, learningRate: c.learningRate, schedule: c.schedule, warmupSteps: c.warmupSteps });
  checkEncoderFreeze(c);
  return c;
}
