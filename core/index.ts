/** edgeseg/core: the platform-free model contract, preprocessing, codecs, metrics, schemas and errors. */
export * from './contract.js';
export * from './errors.js';
export * from './log.js';
export * from './preprocess.js';
export * from './postprocess.js';
export * from './metrics.js';
export * from './mask_codec.js';
export * from './random.js';
export * from './synthetic.js';
export * from './dataset_spec.js';
export * from './card.js';
export * from './artifacts.js';
export * from './overlay.js';
export * from './schemas.js';
export * from './drift.js';
