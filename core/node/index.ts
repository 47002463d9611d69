/**
 * edgeseg/core/node: the Node-only platform that trainer, converter and runtime-node share —
 * model directories and the registry, atomic writes and locks, the feedback store, the tfjs
 * platform and its backends, image decoding, and the worker pool with its worker starter. The list
 * is curated: in-repo code imports any other core/node module by its path.
 */
export {
  saveLayersModel,
  writeModelDir,
  readModelDir,
  loadLayersModel,
  modelArtifacts,
  type CardDraft,
  type ExtraFile,
  type VerifiedModelDir,
  type WriteModelDirOptions,
} from './artifact_fs.js';
export {
  DEFAULT_MODELS_ROOT,
  parseModelRef,
  resolveModelRef,
  listModelNames,
  listVersions,
  aliases,
  aliasHistory,
  setAlias,
  rollbackAlias,
  gcVersions,
  reserveVersion,
  publishRun,
  championDir,
  readCard,
  modelDigest,
  type ModelRef,
  type RegistryEntry,
  type AliasMove,
} from './registry.js';
export { writeFileAtomic, withLock, type LockOptions } from './fs_atomic.js';
export { FeedbackStore, type FeedbackSample, type FeedbackVersion, type PendingFrame } from './feedback_store.js';
export { decodeImage, type DecodeLimits } from './decode_image.js';
export { WorkerPool, serveWorker, type WorkerRequest, type WorkerResponse } from './worker_pool.js';
export { startWorker } from './start_worker.js';
export { tf, tfl } from './tfjs.js';
export { selectBackend, TRAINING_BACKENDS, type TrainingBackend, type ActiveBackend } from './backends/select.js';
export { registerWasmGradientKernels } from './wasm_kernels/register.js';
