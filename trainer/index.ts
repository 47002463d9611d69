/** edgeseg/trainer: train U-Nets in Node on native TensorFlow, WebGPU (Dawn), wasm or cpu. */
export { train, resumeTraining, findUnfinishedRun, type TrainEvent, type TrainOptions, type TrainResult } from './train.js';
export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './config.js';
export { buildModel, MODELS, MODEL_NAMES, type ModelName } from './models/index.js';
export { countFlops } from './models/flops.js';
