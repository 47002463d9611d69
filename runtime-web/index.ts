/**
 * edgeseg/runtime-web: on-device segmentation of camera frames in the browser.
 *
 *   const seg = await createSegmenter({ model: '/models/unet-small/1/' });
 *   const result = await seg.segment(bitmap);
 *   const stream = seg.segmentStream(video, (r) => drawOverlay(ctx, r));
 *   await seg.close();
 */
export { createSegmenter } from './segmenter_impl.js';
export { drawOverlay } from './overlay.js';
export { browserClientId, fetchModelIndex, pickModel, CLIENT_ID_KEY, DEFAULT_MODEL_INDEX, type ClientIdStorage } from './registry_view.js';
export {
  resolveOptions,
  WEB_BACKENDS,
  WEB_ENGINES,
  DEFAULT_BACKEND,
  DEFAULT_ENGINE,
  DEFAULT_CACHE,
  DEFAULT_WARMUP_RUNS,
  DEFAULT_WORKER,
  DEFAULT_CALIBRATION_BUDGET_MS,
  WEB_CANDIDATES,
  type BackendChoice,
  type CandidateRow,
  type WebCandidate,
  type FrameSource,
  type SegmentationResult,
  type SegmentationTimings,
  type Segmenter,
  type SegmenterInfo,
  type SegmenterOptions,
  type StreamHandle,
  type StreamStats,
  type WasmPaths,
  type WebBackend,
  type WebEngine,
} from './segmenter.js';
export { CLASS_COLORS, CLASS_NAMES, MODEL_CONTRACT } from '../core/contract.js';
export type { EngineChoice } from '../core/engine.js';
