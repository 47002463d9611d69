/**
 * Frame validation at the boundary, before any inference: the frame contract of the README
 * ("Frame records"). Header names are lower-cased and parsed once with core's
 * `frameHeadersSchema`; absent headers take their documented defaults (schema v1, frame id
 * `<topic>-<partition>-<offset>`, content type from the magic bytes, capture time from the
 * record timestamp); then key, size limit, raw dimensions. Cheap checks only; whether an encoded
 * image decodes is found out by the worker (UNDECODABLE). Every failure is a FrameError with a code.
 */
import { CONTENT_TYPES, FRAME_SCHEMA, FrameError, HEADER, RAW_RGB8, type FrameContentType } from '../../core/index.js';
import { normalizeHeaderNames, normalizeMediaType, parseCapturedAt, sniffImageType } from '../../core/frame_headers.js';
import { frameHeadersSchema } from '../../core/schemas.js';
import type { InRecord } from './transport.js';

/** Size bounds a frame record is checked against. */
export interface FrameLimits {
  /** Largest accepted record value. @default 8 MiB */
  maxFrameBytes: number;
  /** Largest accepted width or height. @default 4096 */
  maxSide: number;
}

/** Defaults of FrameLimits. */
export const FRAME_LIMIT_DEFAULTS: FrameLimits = { maxFrameBytes: 8 * 1024 * 1024, maxSide: 4096 };

/** A frame record that passed validateFrame. */
export interface ValidFrame {
  frameId: string;
  sensorId: string;
  contentType: FrameContentType;
  width?: number;
  height?: number;
  /** RFC 3339 UTC with milliseconds. */
  capturedAt: string;
  sampleId?: string;
  bytes: Uint8Array;
}

function dimension(headers: Record<string, string>, name: string, maxSide: number): number {
  const raw = headers[name];
  if (raw === undefined) throw new FrameError('MISSING_HEADER', `raw frames need a '${name}' header`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > maxSide) throw new FrameError('DIMENSIONS_OUT_OF_RANGE', `header ${name}=${raw} is not an integer 1–${maxSide}`);
  return n;
}

/** The frame code for the first header that fails `frameHeadersSchema`. */
function headerError(h: Record<string, string>, key: string, detail: string): FrameError {
  const value = h[key];
  if (key === HEADER.schema) return new FrameError('SCHEMA_MISMATCH', `header schema is '${value}'; expected ${FRAME_SCHEMA} (or no schema header)`);
  if (key === HEADER.width || key === HEADER.height) return new FrameError('DIMENSIONS_OUT_OF_RANGE', `header ${key}=${value} is not an integer`);
  return new FrameError('INVALID_HEADER', `header '${key}' ${detail}`);
}

/** The frame's content type: the header's media type when set, else what its magic bytes say. */
function contentTypeOf(h: Record<string, string>, bytes: Uint8Array): FrameContentType {
  const header = h[HEADER.contentType];
  if (header === undefined) {
    const sniffed = sniffImageType(bytes);
    if (!sniffed) throw new FrameError('UNKNOWN_CONTENT_TYPE', `no '${HEADER.contentType}' header, and the bytes are not JPEG, PNG or WebP (raw frames need content-type ${RAW_RGB8})`);
    return sniffed;
  }
  const type = normalizeMediaType(header);
  if (!(CONTENT_TYPES as readonly string[]).includes(type)) throw new FrameError('UNKNOWN_CONTENT_TYPE', `content type '${header}' is not one of ${CONTENT_TYPES.join(', ')}`);
  return type as FrameContentType;
}

/** Checks a frame record's key, headers, content type and size; throws a named error (dead-lettered with its reason) otherwise. */
export function validateFrame(record: InRecord, limits: FrameLimits = FRAME_LIMIT_DEFAULTS): ValidFrame {
  const h = normalizeHeaderNames(record.headers);
  const parsed = frameHeadersSchema.safeParse(h);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw headerError(h, String(issue.path[0] ?? HEADER.schema), issue.message);
  }
  if (!record.key || record.key.length === 0) throw new FrameError('MISSING_KEY', 'the record key (the sensor id) is missing; frames are keyed by sensor so that a sensor keeps its order and its rollout arm');
  const bytes = record.value;
  if (!bytes || bytes.length === 0) throw new FrameError('UNDECODABLE', 'the frame is empty');
  if (bytes.length > limits.maxFrameBytes) throw new FrameError('FRAME_TOO_LARGE', `frame is ${bytes.length} bytes; the limit is ${limits.maxFrameBytes}`);
  const contentType = contentTypeOf(h, bytes);
  const frame: ValidFrame = {
    frameId: h[HEADER.frameId] ?? `${record.topic}-${record.partition}-${record.offset}`,
    sensorId: record.key.toString(),
    contentType,
    capturedAt: parseCapturedAt(h[HEADER.capturedAt], Number(record.timestamp)),
    sampleId: h[HEADER.sampleId],
    bytes,
  };
  if (contentType === RAW_RGB8) {
    frame.width = dimension(h, HEADER.width, limits.maxSide);
    frame.height = dimension(h, HEADER.height, limits.maxSide);
    if (bytes.length !== frame.width * frame.height * 3) {
      throw new FrameError('RAW_SIZE_MISMATCH', `raw frame is ${bytes.length} bytes; ${frame.width}x${frame.height} RGB8 needs ${frame.width * frame.height * 3}`);
    }
  }
  return frame;
}
