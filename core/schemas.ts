/**
 * Kafka topics, headers and message schemas shared by every producer and consumer of edgeseg
 * records (runtime-node, the frame producer, the loop, tests). Validators are cheap checks at the
 * boundary that name the bad field.
 */
import { NUM_CLASSES } from './contract.js';
import { ContractError } from './errors.js';
import type { RleMask } from './mask_codec.js';

/** Default topic names; every one is `<prefix><name>` with prefix 'edgeseg.'. */
export const TOPIC_NAMES = {
  frames: 'frames',
  segmentations: 'segmentations',
  labelRequests: 'label-requests',
  feedback: 'feedback',
  dlq: 'dlq',
  models: 'models',
  /** Loop events: drift reports, promotions and refusals (JSON with a `schema`). */
  events: 'events',
} as const;

export type TopicKey = keyof typeof TOPIC_NAMES;
export type Topics = Record<TopicKey, string>;

export const DEFAULT_TOPIC_PREFIX = 'edgeseg.';

export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  return Object.fromEntries(Object.entries(TOPIC_NAMES).map(([k, v]) => [k, `${prefix}${v}`])) as Topics;
}

/** Frame record headers (`edgeseg.frame.v1`). */
export const FRAME_SCHEMA = 'edgeseg.frame.v1';
export const HEADER = {
  frameId: 'frame-id',
  contentType: 'content-type',
  width: 'width',
  height: 'height',
  capturedAt: 'captured-at',
  schema: 'schema',
  /** Optional: the dataset sample a frame was made from (demo producers; lets a simulated labeler answer). */
  sampleId: 'sample-id',
  errorCode: 'error-code',
  errorMessage: 'error-message',
  sourceTopic: 'source-topic',
  sourcePartition: 'source-partition',
  sourceOffset: 'source-offset',
} as const;

export const CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/x-rgb8'] as const;
export type FrameContentType = (typeof CONTENT_TYPES)[number];
export const RAW_RGB8: FrameContentType = 'application/x-rgb8';

export const SEGMENTATION_SCHEMA = 'edgeseg.segmentation.v1';

export interface SegmentationMessage {
  schema: typeof SEGMENTATION_SCHEMA;
  frameId: string;
  sensorId: string;
  /** `<name>@<version>` of the model that produced the mask. */
  modelVersion: string;
  /** Size of `mask`: the model's 128×128, or the frame's size with `--mask-size frame`. */
  width: number;
  height: number;
  maskFormat: 'png' | 'rle';
  /** PNG of class ids, base64 (`png`), or the RLE object of core/mask_codec.ts (`rle`). */
  mask: string | RleMask;
  classCoverage: number[];
  meanConfidence: number;
  /** Mean per-pixel softmax entropy, nats. */
  entropy: number;
  /** Capture (or enqueue) to publish, milliseconds. */
  latencyMs: number;
  /** Model execution alone, milliseconds. */
  inferenceMs: number;
  capturedAt: string;
  processedAt: string;
}

export const LABEL_REQUEST_SCHEMA = 'edgeseg.label-request.v1';

export interface LabelRequestMessage {
  schema: typeof LABEL_REQUEST_SCHEMA;
  frameId: string;
  sensorId: string;
  /** Higher = more uncertain (mean entropy, or 1 − margin). */
  score: number;
  reason: string;
  modelVersion: string;
  /** Where the frame is kept for labelling: a feedback store object. */
  frame: { store: string; sha256: string; contentType: FrameContentType; width?: number; height?: number; sampleId?: string };
  at: string;
}

export const FEEDBACK_SCHEMA_MESSAGE = 'edgeseg.feedback-label.v1';

export interface FeedbackMessage {
  schema?: typeof FEEDBACK_SCHEMA_MESSAGE;
  frameId: string;
  /** Class-id PNG, base64. */
  mask: string;
  source: string;
  labeler?: string;
  at?: string;
}

export const MODEL_EVENT_SCHEMA = 'edgeseg.model.v1';

export interface ModelEvent {
  schema: typeof MODEL_EVENT_SCHEMA;
  name: string;
  version: string;
  /** Directory of the version (shared filesystem) or URL. */
  path: string;
  /** sha256 of its SHA256SUMS file: identifies the exact artifact. */
  sha256: string;
  metrics: { miou: number; pixelAccuracy: number } | null;
  at: string;
}

function field(obj: Record<string, unknown>, key: string, type: 'string' | 'number' | 'object', where: string): void {
  if (typeof obj[key] !== type || obj[key] === null) throw new ContractError(`${where}: '${key}' must be a ${type}`);
}

export function parseSegmentation(text: string): SegmentationMessage {
  const m = JSON.parse(text) as SegmentationMessage;
  if (m.schema !== SEGMENTATION_SCHEMA) throw new ContractError(`segmentation: schema must be ${SEGMENTATION_SCHEMA}`);
  for (const k of ['frameId', 'sensorId', 'modelVersion', 'capturedAt', 'processedAt'] as const) field(m as never, k, 'string', 'segmentation');
  if (!Array.isArray(m.classCoverage) || m.classCoverage.length !== NUM_CLASSES) throw new ContractError(`segmentation: classCoverage must hold ${NUM_CLASSES} numbers`);
  return m;
}

export function parseFeedback(text: string): FeedbackMessage {
  let m: FeedbackMessage;
  try {
    m = JSON.parse(text) as FeedbackMessage;
  } catch {
    throw new ContractError('feedback: body is not JSON');
  }
  if (m === null || typeof m !== 'object') throw new ContractError('feedback: body must be a JSON object');
  field(m as never, 'frameId', 'string', 'feedback');
  field(m as never, 'mask', 'string', 'feedback');
  field(m as never, 'source', 'string', 'feedback');
  if (!/^[\w.:-]{1,128}$/.test(m.frameId)) throw new ContractError('feedback: frameId must be 1–128 letters, digits, _ . : -');
  return m;
}

export function parseModelEvent(text: string): ModelEvent {
  const m = JSON.parse(text) as ModelEvent;
  if (m.schema !== MODEL_EVENT_SCHEMA) throw new ContractError(`model event: schema must be ${MODEL_EVENT_SCHEMA}`);
  for (const k of ['name', 'version', 'path', 'sha256'] as const) field(m as never, k, 'string', 'model event');
  return m;
}
