/**
 * What every runtime-web entry point exports besides its createSegmenter: drawing, options, defaults
 * and types. The model contract, engine and fit names they refer to are edgeseg/core's.
 */
export { drawMask, type DrawMaskOptions, type Rgb } from './draw_mask.js';
export { drawOverlay } from './overlay.js';
export { resolveOptions, WEB_BACKENDS, WEB_ENGINES, DEFAULT_BACKEND, DEFAULT_ENGINE, DEFAULT_CACHE, DEFAULT_WARMUP_RUNS, DEFAULT_WORKER, DEFAULT_CALIBRATION_BUDGET_MS, DEFAULT_OUTPUT_SIZE, DEFAULT_FIT, DEFAULT_COMBINE_WITH_PREVIOUS_RATIO, WEB_CANDIDATES, type WebCandidate, type LoadProgress, type ModelFiles, type ModelSource, type OutputKinds, type Rotation, type SmoothingOptions, type SegmenterOptions, type WasmPaths, type WebBackend, type WebEngine } from './segmenter_api.js';
export { type BackendChoice, type CandidateRow, type FrameSource, type SegmentationMask, type SegmentOptions, type VideoSource, type SegmentationResult, type SegmentationTimings, type Segmenter, type SegmenterInfo, type StreamHandle, type StreamStats } from './segmenter_results.js';
