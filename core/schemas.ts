/**
 * Every external input's schema, parsed once at its boundary with zod: Kafka topics, headers and
 * message values shared by every producer and consumer of edgeseg records (runtime-node, the
 * frame producer, the loop, tests), and the model artifact files (weights manifest, SHA256SUMS
 * lines). `parseWith` turns a failure into the caller's named error, naming the bad field.
 */
import { z } from 'zod';
import { NUM_CLASSES } from './contract.js';
import { ContractError, type EdgesegError } from './errors.js';
import type { RleMask } from './mask_codec.js';

export { z };

/** One line per problem: `<where>: <field path>: <message>`. */
export function describeIssues(error: z.ZodError, where: string): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${where}: ${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`)
    .join('; ');
}

/** Parses `value` with `schema`; a mismatch throws `fail(message)` (a named edgeseg error). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string, fail: (message: string) => EdgesegError): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw fail(describeIssues(r.error, where));
  return r.data;
}

/** JSON text → value; a syntax error throws `fail`. */
export function parseJsonText(text: string, where: string, fail: (message: string) => EdgesegError): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw fail(`${where} is not valid JSON`);
  }
}

// ---------------------------------------------------------------------------------------------
// Model artifacts

/**
 * A path inside a model version directory: relative, '/'-separated, no '.', '..' or empty
 * segment, no backslash, drive, scheme, query or control character. Anything else could name a
 * file outside the directory (or a different URL) once joined to it.
 */
export const artifactPath = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/, 'must be a relative path inside the model directory (no .., no absolute path, no backslash)')
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'must not leave the model directory');

/** One dimension of a stored weight: a positive integer. */
const dimension = z.number().int('dimensions must be integers').min(1, 'dimensions must be ≥ 1').max(1 << 24);

export const weightEntry = z.object({
  name: z.string().min(1).max(512),
  shape: z.array(dimension).max(8),
  dtype: z.enum(['float32', 'int32', 'bool', 'uint8', 'uint16', 'float16']),
  quantization: z
    .object({ dtype: z.enum(['uint8', 'uint16', 'float16']), scale: z.number().finite().optional(), min: z.number().finite().optional() })
    .refine((q) => q.dtype === 'float16' || (q.scale !== undefined && q.min !== undefined), 'uint8/uint16 quantization needs a scale and a min')
    .optional(),
});

export const weightsManifest = z.array(z.object({ paths: z.array(artifactPath).min(1).max(4096), weights: z.array(weightEntry) })).min(1);

export const modelJsonSchema = z.looseObject({
  modelTopology: z.looseObject({}),
  weightsManifest,
  format: z.string().optional(),
});

/** One `<sha256>  <file>` line of SHA256SUMS. */
export const sha256SumsLine = z
  .string()
  .regex(/^[0-9a-f]{64} [ *].+$/, "is not '<sha256>  <file>'")
  .transform((line) => ({ sha256: line.slice(0, 64), file: line.slice(66) }))
  .pipe(z.object({ sha256: z.string(), file: artifactPath }));

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
