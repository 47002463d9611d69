/**
 * edgeseg/core/node: the Node-only platform that trainer, converter and runtime-node share —
 * model directories and the registry, atomic writes and locks, the feedback store, the tfjs
 * platform and its backends, image decoding, the worker pool and its worker starter, and the
 * code revision.
 */
export * from './artifact_fs.js';
export * from './registry.js';
export * from './fs_atomic.js';
export * from './feedback_store.js';
export * from './decode_image.js';
export * from './worker_pool.js';
export * from './start_worker.js';
export * from './revision.js';
export * from './package_root.js';
export * from './tfjs.js';
export * from './backends/select.js';
