/**
 * Every external input's schema, parsed once at its boundary with zod: Kafka topics, headers and
 * message values shared by every producer and consumer of edgeseg records (runtime-node, the
 * frame producer, the loop, tests), and the model artifact files (weights manifest, SHA256SUMS
 * lines). `parseWith` turns a failure into the caller's named error, naming the bad field.
 */
import { z } from 'zod';
import { MAX_CLASSES } from './contract.js';
import { ContractError, type EdgesegError } from './errors.js';
import { parseJsonBounded } from './bounded_json.js';
import { recordIdSchema } from './frame_headers.js';
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

/** JSON text → value, nested at most MAX_JSON_DEPTH deep; a syntax error or deeper nesting throws `fail`. */
export function parseJsonText(text: string, where: string, fail: (message: string) => EdgesegError): unknown {
  return parseJsonBounded(text, where, fail);
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

/** Schema of one weight in a tfjs weights manifest. */
export const weightEntry = z.object({
  name: z.string().min(1).max(512),
  shape: z.array(dimension).max(8),
  dtype: z.enum(['float32', 'int32', 'bool', 'uint8', 'uint16', 'float16']),
  quantization: z
    .object({ dtype: z.enum(['uint8', 'uint16', 'float16']), scale: z.number().finite().optional(), min: z.number().finite().optional() })
    .refine((q) => q.dtype === 'float16' || (q.scale !== undefined && q.min !== undefined), 'uint8/uint16 quantization needs a scale and a min')
    .optional(),
});

/** Schema of a tfjs weights manifest (shard groups with their weights). */
export const weightsManifest = z.array(z.object({ paths: z.array(artifactPath).min(1).max(4096), weights: z.array(weightEntry) })).min(1);

/** Schema of model.json (topology + weights manifest), checked before any loader reads it. */
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

/** The Kafka topics edgeseg uses, by role. */
export type TopicKey = keyof typeof TOPIC_NAMES;
/** Topic names by role, with a prefix applied. */
export type Topics = Record<TopicKey, string>;

/** Prefix of every topic name unless configured. */
export const DEFAULT_TOPIC_PREFIX = 'edgeseg.';

/** The name of every topic under `prefix` (`edgeseg.frames`, `edgeseg.segmentations`, …). */
export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  return Object.fromEntries(Object.entries(TOPIC_NAMES).map(([k, v]) => [k, `${prefix}${v}`])) as Topics;
}

/** Frame record headers (`edgeseg.frame.v1`). */
export const FRAME_SCHEMA = 'edgeseg.frame.v1';
/** Kafka header names of a frame record (`edgeseg.frame.v1`). */
export const HEADER = {
  frameId: 'frame-id',
  contentType: 'content-type',
  width: 'width',
  height: 'height',
  capturedAt: 'captured-at',
  schema: 'schema',
  /** Optional: the dataset sample a frame was made from (demo producers; lets a simulated labeler answer). */
  sampleId: 'sample-id',
  /** Dead letters: the record key (the sensor id) as text, so a letter is found by sensor whatever happened to its key. */
  sensorId: 'sensor-id',
  errorCode: 'error-code',
  errorMessage: 'error-message',
  sourceTopic: 'source-topic',
  sourcePartition: 'source-partition',
  sourceOffset: 'source-offset',
  /** Dead letters whose value was cut or kept elsewhere: the original value's size and sha256. */
  originalSize: 'original-size',
  originalSha256: 'original-sha256',
  /** 'true' when a dead letter carries only the first bytes of the value. */
  valueTruncated: 'value-truncated',
  /** Where a dead letter's whole value was kept (a file path). */
  valueRef: 'value-ref',
} as const;

/** Frame encodings the stream service accepts. */
export const CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/x-rgb8'] as const;
/** One of CONTENT_TYPES. */
export type FrameContentType = (typeof CONTENT_TYPES)[number];
/** Content type of an unencoded frame: width × height × 3 bytes, with width and height headers. */
export const RAW_RGB8: FrameContentType = 'application/x-rgb8';

/** Schema id of the records on `edgeseg.segmentations`. */
export const SEGMENTATION_SCHEMA = 'edgeseg.segmentation.v1';

/** A record on `edgeseg.segmentations`: one frame's mask and statistics. */
export interface SegmentationMessage {
  schema: typeof SEGMENTATION_SCHEMA;
  frameId: string;
  sensorId: string;
  /** `<name>@<version>` of the model that produced the mask. */
  modelVersion: string;
  /** Size of `mask`: the model's input size (its card's), or the frame's size with `--mask-size frame`. */
  width: number;
  height: number;
  maskFormat: 'png' | 'rle';
  /** PNG of class ids, base64 (`png`), or the RLE object of core/mask_codec.ts (`rle`). */
  mask: string | RleMask;
  /** Fraction of pixels of each of the model's classes (one entry per class of its card), sums to 1. */
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

/** Schema id of the records on `edgeseg.label-requests`. */
export const LABEL_REQUEST_SCHEMA = 'edgeseg.label-request.v1';

/** A record on `edgeseg.label-requests`: a frame the model was unsure of, asking for a label. */
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

/** Schema id of the records on `edgeseg.feedback`. */
export const FEEDBACK_SCHEMA_MESSAGE = 'edgeseg.feedback-label.v1';

/** A record on `edgeseg.feedback`: a labeled mask for a frame. */
export interface FeedbackMessage {
  schema?: typeof FEEDBACK_SCHEMA_MESSAGE;
  frameId: string;
  /** Class-id PNG, base64. */
  mask: string;
  source: string;
  labeler?: string;
  at?: string;
}

/** Schema id of the records on `edgeseg.models`. */
export const MODEL_EVENT_SCHEMA = 'edgeseg.model.v1';

/** A record on `edgeseg.models`: a version promoted, rolled back or published. */
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

const isoTime = z.string().max(64).refine((t) => !Number.isNaN(Date.parse(t)), 'must be an ISO time');

/** A segmentation result (`edgeseg.segmentations`). */
export const segmentationSchema = z.looseObject({
  schema: z.literal(SEGMENTATION_SCHEMA),
  frameId: z.string().min(1).max(256),
  sensorId: z.string().max(256),
  modelVersion: z.string().min(1).max(256),
  width: z.number().int().min(1).max(16384),
  height: z.number().int().min(1).max(16384),
  maskFormat: z.enum(['png', 'rle']),
  mask: z.union([z.string(), z.looseObject({ encoding: z.literal('rle1') })]),
  classCoverage: z.array(z.number().min(0).max(1)).min(1).max(MAX_CLASSES),
  capturedAt: z.string(),
  processedAt: z.string(),
});

/**
 * A label (`edgeseg.feedback` value, `POST /feedback` body). `image` and `modelVersion` come only
 * over HTTP, from a client that never sent the frame to the service.
 */
export const feedbackSchema = z.object({
  schema: z.literal(FEEDBACK_SCHEMA_MESSAGE).optional(),
  frameId: recordIdSchema,
  mask: z.string(),
  source: z.string().min(1).max(128),
  labeler: z.string().max(128).optional(),
  at: isoTime.optional(),
  image: z.string().optional(),
  modelVersion: z.string().max(256).nullable().optional(),
});

/** Schema of a ModelEvent record. */
export const modelEventSchema = z.looseObject({
  schema: z.literal(MODEL_EVENT_SCHEMA),
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(128),
  path: z.string().min(1).max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex sha256'),
  metrics: z.object({ miou: z.number(), pixelAccuracy: z.number() }).nullable().optional(),
  at: z.string().optional(),
});

/** Schema of a LabelRequestMessage record. */
export const labelRequestSchema = z.looseObject({
  schema: z.literal(LABEL_REQUEST_SCHEMA),
  frameId: recordIdSchema,
  sensorId: z.string().max(256),
  score: z.number(),
  reason: z.string().max(1024),
  modelVersion: z.string().max(256),
  frame: z.looseObject({
    store: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    contentType: z.enum(CONTENT_TYPES),
    width: z.number().int().min(1).max(16384).optional(),
    height: z.number().int().min(1).max(16384).optional(),
    sampleId: z.string().max(256).optional(),
  }),
  at: z.string(),
});

const contractError = (m: string) => new ContractError(m);

/** Parses one JSON record value with `schema`; any problem is a `CONTRACT_MISMATCH` naming the field. */
function parseRecord<S extends z.ZodType>(schema: S, text: string, where: string): z.output<S> {
  const value = parseJsonText(text, where, () => new ContractError(`${where}: body is not JSON`));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ContractError(`${where}: body must be a JSON object`);
  return parseWith(schema, value, where, contractError);
}

/**
 * Parses and validates a segmentation record; throws a named error saying what is wrong. With
 * `classes` (the model's, `classCountOf(card)`), `classCoverage` must have that many entries.
 */
export function parseSegmentation(text: string, classes?: number): SegmentationMessage {
  const message = parseRecord(segmentationSchema, text, 'segmentation') as unknown as SegmentationMessage;
  if (classes !== undefined && message.classCoverage.length !== classes) {
    throw new ContractError(`segmentation: classCoverage: has ${message.classCoverage.length} entries, the model has ${classes} classes`);
  }
  return message;
}

/** Parses and validates a feedback record (the HTTP form may carry the frame as `image`). */
export function parseFeedback(text: string): FeedbackMessage & { image?: string; modelVersion?: string | null } {
  return parseRecord(feedbackSchema, text, 'feedback') as FeedbackMessage & { image?: string; modelVersion?: string | null };
}

/** Parses and validates a model event record. */
export function parseModelEvent(text: string): ModelEvent {
  return parseRecord(modelEventSchema, text, 'model event') as unknown as ModelEvent;
}

/** Parses and validates a label request record. */
export function parseLabelRequest(text: string): LabelRequestMessage {
  return parseRecord(labelRequestSchema, text, 'label request') as unknown as LabelRequestMessage;
}

// ---------------------------------------------------------------------------------------------
// Frame record headers

/**
 * `edgeseg.frame.v1` headers after their names are lower-cased; every one is optional (the
 * defaults are core/frame_headers.ts's and the README's "Frame records"). Raw frames also need
 * `width` and `height` (checked by the frame validator); the content type and capture time are
 * read by `normalizeMediaType` and `parseCapturedAt`.
 */
export const frameHeadersSchema = z.looseObject({
  [HEADER.schema]: z.string().trim().pipe(z.literal(FRAME_SCHEMA)).optional(),
  [HEADER.frameId]: recordIdSchema.optional(),
  [HEADER.contentType]: z.string().max(128).optional(),
  [HEADER.width]: z.string().regex(/^\d{1,6}$/, 'must be a decimal integer').optional(),
  [HEADER.height]: z.string().regex(/^\d{1,6}$/, 'must be a decimal integer').optional(),
  [HEADER.capturedAt]: z.string().max(64).optional(),
  [HEADER.sampleId]: z.string().max(256).optional(),
});
