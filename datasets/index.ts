/** edgeseg/datasets: open a dataset spec's samples (Oxford, folders, synthetic scenes, feedback), batch them, and evaluate a model on them. */
export { openDataset, type Dataset, type DatasetManifest, type SampleSet, type OpenDatasetOptions } from './dataset.js';
export { batches, type Batch, type BatchOptions } from './pipeline.js';
export { evaluate, type Evaluation } from './evaluate.js';
