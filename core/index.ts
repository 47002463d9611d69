/**
 * edgeseg/core: the platform-free model contract, mask codecs, metrics, message schemas and named
 * errors, for Node and the browser. The list is curated: in-repo code imports any other core module
 * by its path, and test/unit/api_surface.test.ts compares this surface with test/fixtures/api-surface.txt.
 */
export {
  MODEL_CONTRACT,
  INPUT_SIZE,
  INPUT_CHANNELS,
  INPUT_NAME,
  INPUT_SHAPE,
  OUTPUT_NAME,
  OUTPUT_SHAPE,
  NUM_CLASSES,
  INPUT_NORMALIZATIONS,
  CLASS_NAMES,
  CLASS_COLORS,
  CLASS_BACKGROUND,
  CLASS_PET,
  CLASS_BORDER,
  geometryOf,
  type ModelContract,
  type ModelGeometry,
  type InputNormalization,
  type InputSize,
} from './contract.js';
export {
  EdgesegError,
  ConfigError,
  DatasetError,
  DatasetFetchError,
  SampleError,
  ContractError,
  ModelFormatError,
  ChecksumError,
  BackendUnavailableError,
  TrainingDivergedError,
  MaskCodecError,
  FrameError,
  AccuracyGateError,
  PretrainedWeightsError,
  ImportError,
  FileAccessError,
  LabelError,
  type EdgesegErrorOptions,
  type DatasetFetchErrorCode,
  type FrameErrorCode,
  type PretrainedErrorCode,
  type ImportErrorCode,
  type FileAccessErrorCode,
} from './errors.js';
export { createLogger, consoleSink, jsonSink, type Logger, type LogLevel, type LogRecord, type LogSink } from './log.js';
export type { PixelImage } from './preprocess.js';
export { ConfusionMatrix, type SegmentationMetrics } from './metrics.js';
export { encodeRle, decodeRle, encodeMaskPng, decodeMaskPng, toBase64, fromBase64, type RleMask } from './mask_codec.js';
export { syntheticSample, type SyntheticOptions, type SyntheticSample } from './synthetic.js';
export { parseCard, PRECISIONS, type ModelCard, type CardMetrics, type CardFile, type Precision } from './card.js';
export { readVerifiedModel, MODEL_JSON, CARD_JSON, SHA256SUMS, type VerifiedModel, type ModelIndexEntry } from './artifacts.js';
export {
  topicNames,
  TOPIC_NAMES,
  DEFAULT_TOPIC_PREFIX,
  FRAME_SCHEMA,
  HEADER,
  CONTENT_TYPES,
  RAW_RGB8,
  SEGMENTATION_SCHEMA,
  LABEL_REQUEST_SCHEMA,
  FEEDBACK_SCHEMA_MESSAGE,
  MODEL_EVENT_SCHEMA,
  parseSegmentation,
  parseFeedback,
  parseModelEvent,
  parseLabelRequest,
  type Topics,
  type TopicKey,
  type FrameContentType,
  type SegmentationMessage,
  type LabelRequestMessage,
  type FeedbackMessage,
  type ModelEvent,
} from './schemas.js';
export { parseDriftReference, type DriftReference, type DriftReport, type DriftMonitorOptions } from './drift.js';
export { ENGINE_KINDS, type EngineKind, type EngineRequest, type EngineChoice } from './engine.js';
export { FIT_MODES, type FitMode, type OutputSize } from './output_geometry.js';
