/** edgeseg/trainer: train U-Nets in Node on native TensorFlow, WebGPU (Dawn), wasm or cpu. */
export { train, resumeTraining, findUnfinishedRun, type TrainEvent, type TrainOptions, type TrainResult } from './train.js';
export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './config.js';
export { selectBackend, TRAINING_BACKENDS, type ActiveBackend, type TrainingBackend } from '../core/node/backends/select.js';
export { buildModel, MODELS, MODEL_NAMES, type ModelName } from './models/index.js';
export { countFlops } from './models/flops.js';
export { openDataset, type Dataset, type DatasetManifest, type SampleSet, type OpenDatasetOptions } from '../datasets/dataset.js';
export { batches, type Batch, type BatchOptions } from '../datasets/pipeline.js';
export { FeedbackStore, type FeedbackSample, type FeedbackVersion } from '../core/node/feedback_store.js';
export { decodeImage } from '../core/node/decode_image.js';
export { evaluate, type Evaluation } from '../datasets/evaluate.js';
export { registerWasmGradientKernels } from '../core/node/wasm_kernels/register.js';
export { tf, tfl } from '../core/node/tfjs.js';
