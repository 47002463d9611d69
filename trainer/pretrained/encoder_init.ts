/**
 * `--init <file.tflite>`: the trainer's side of starting unet-mobilenetv2's encoder from ImageNet
 * weights. Before the data is opened, `prepareInit` reads the file (or, for `--init-from`, the
 * parent's card) for the input normalization the model will take; after the model is built,
 * `apply` loads the encoder with BatchNorm statistics measured on the first training images; the
 * card then records the file (name + sha256) and the normalization.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { readFileCapped } from '../../core/node/safe_read.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, INPUT_CHANNELS, INPUT_SIZE, type InputNormalization, type Logger } from '../../core/index.js';
import { DEFAULT_NORMALIZATION, normalizationOf } from '../../core/contract.js';
import { readCard, resolveModelRef } from '../../core/node/registry.js';
import { tf } from '../../core/node/tfjs.js';
import type { TrainConfig } from '../config.js';
import type { SampleSet } from '../../datasets/dataset.js';
import { isEncoderLayer } from '../models/mobilenetv2_encoder.js';
import { loadMobilenetV2Weights } from './load_mobilenetv2.js';
import { readMobilenetV2Tflite, type MobilenetV2Weights } from './mobilenetv2_tflite.js';

/** The architecture `--init` weights fit. */
export const INIT_MODEL = 'unet-mobilenetv2';

/** Training images the encoder's BatchNorm statistics are measured on (fewer when the split is smaller). */
export const CALIBRATION_IMAGES = 32;

/** What the card's `training.init` records about the pretrained file. */
export interface InitRecord {
  file: string;
  sha256: string;
  /** Encoder layers that took weights, and how many training images set their BatchNorm statistics. */
  layers: number;
  calibrationImages: number;
}

export interface PreparedInit {
  /** Input normalization of the model this run trains: the weights', the parent's, or `unit`. */
  normalization: InputNormalization;
  /** Loads the pretrained encoder into a freshly built model (no-op without `--init`). */
  apply(model: LayersModel, train: SampleSet, log: Logger): Promise<void>;
  /** `training.init` for the card: the file and its digest, or null without `--init`. */
  record(): InitRecord | null;
}

/** Reads what `--init` / `--init-from` decide before the data is opened; checks the options against each other. */
/** Largest `--init` file (a MobileNetV2 TFLite is 4–14 MB), checked before it is read. */
const MAX_INIT_FILE_BYTES = 256 << 20;

export function prepareInit(config: Pick<TrainConfig, 'init' | 'initFrom' | 'model' | 'models' | 'modelConfig'>): PreparedInit {
  if (config.init && config.initFrom) throw new ConfigError('--init (pretrained encoder weights) and --init-from (a trained model) both set the starting weights; give one');
  if (!config.init) {
    const normalization = config.initFrom ? normalizationOf(readCard(resolveModelRef(config.initFrom, config.models))) : DEFAULT_NORMALIZATION;
    return { normalization, apply: async () => {}, record: () => null };
  }
  if (config.model !== INIT_MODEL) throw new ConfigError(`--init loads MobileNetV2 encoder weights, which only --model ${INIT_MODEL} has (got ${config.model})`);
  const path = resolve(config.init);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileCapped(path, { maxBytes: MAX_INIT_FILE_BYTES, what: '--init file' }));
  } catch (err) {
    // The message names the path and the reason ("--init file /dev/zero is not a regular file").
    throw new ConfigError((err as Error).message, { cause: err });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const weights: MobilenetV2Weights = readMobilenetV2Tflite(bytes, basename(path));
  let done: InitRecord | null = null;
  return {
    normalization: weights.normalization,
    async apply(model, train, log) {
      const n = Math.min(CALIBRATION_IMAGES, train.size);
      const samples = await Promise.all(Array.from({ length: n }, (_, i) => train.get(Math.floor((i * train.size) / n))));
      const data = new Float32Array(n * INPUT_SIZE * INPUT_SIZE * INPUT_CHANNELS);
      samples.forEach((s, i) => data.set(s.image, i * s.image.length));
      const calibration = tf.tensor4d(data, [n, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS]);
      try {
        const loaded = loadMobilenetV2Weights(model, weights, { select: (l) => isEncoderLayer(l.name), calibration });
        done = { file: basename(path), sha256, layers: loaded.layers.length, calibrationImages: loaded.calibrationImages };
        log.info('encoder initialised from pretrained weights', { file: done.file, sha256, layers: done.layers, calibrationImages: n, normalization: weights.normalization, biasDropped: loaded.biasDropped });
      } finally {
        calibration.dispose();
      }
    },
    record: () => done,
  };
}
