/**
 * Dead-letter records: a refused input goes to `edgeseg.dlq` as it came (key, bytes, headers)
 * plus the reason and where it came from, so it can be inspected and replayed.
 *
 * A dead letter never exceeds what the DLQ topic accepts: a refused record may be refused exactly
 * because it is large (FRAME_TOO_LARGE on a frames topic that allows big messages), and a dead
 * letter the broker rejects would stop the consumer on that record for good. A value over
 * `maxValueBytes` is cut to that many bytes (or, with `keepDir`, replaced by nothing and kept
 * whole in that directory under its sha256), with `original-size`, `original-sha256`,
 * `value-truncated` and `value-ref` headers saying so; the key, every header value and the
 * message are bounded too.
 *
 * Whatever happened to the value, a dead letter can be found by id: it carries `frame-id` (the
 * header the producer set, the id the caller read from the value, or the frame contract's default
 * `<topic>-<partition>-<offset>`), `sensor-id` (the record key) and the source topic, partition
 * and offset as headers.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { HEADER } from '../../core/index.js';
import { normalizeHeaderNames } from '../../core/frame_headers.js';
import { writeFileAtomic } from '../../core/node/fs_atomic.js';
import type { InRecord, OutRecord } from './transport.js';

/** Size bounds of one dead letter. */
export interface DeadLetterLimits {
  /** Largest value kept in the record (the topic's default `max.message.bytes` is 1 MiB). @default 512 KiB */
  maxValueBytes?: number;
  /** Keep over-large values whole in this directory (`<sha256>`), referenced by the `value-ref` header. @default none */
  keepDir?: string | null;
}

export const DEFAULT_DEAD_LETTER_LIMITS: Required<DeadLetterLimits> = { maxValueBytes: 512 * 1024, keepDir: null };

/** Longest header value (the error message included) and key in a dead letter. */
const MAX_HEADER_CHARS = 1024;
/** Most original headers carried over. */
const MAX_HEADERS = 32;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Ids of a refused record its reader found in the value (a feedback label's `frameId`). */
export interface DeadLetterIds {
  /** The record's frame id; `null` when the record has none (a feedback value whose id could not be read). @default the `frame-id` header, else `<topic>-<partition>-<offset>` */
  frameId?: string | null;
}

/** The dead-letter record of `r`, refused with error `code` and a human `message`, within `limits`. */
export function deadLetterRecord(r: InRecord, dlqTopic: string, code: string, message: string, limits: DeadLetterLimits = {}, ids: DeadLetterIds = {}): OutRecord {
  const { maxValueBytes, keepDir } = { ...DEFAULT_DEAD_LETTER_LIMITS, ...limits };
  const value = r.value ?? Buffer.alloc(0);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers).slice(0, MAX_HEADERS)) headers[cut(k, 128)] = cut(v, MAX_HEADER_CHARS);
  let kept: Buffer = value;
  if (value.length > maxValueBytes) {
    const sha = createHash('sha256').update(value).digest('hex');
    headers[HEADER.originalSize] = String(value.length);
    headers[HEADER.originalSha256] = sha;
    if (keepDir) {
      const path = join(keepDir, sha);
      writeFileAtomic(path, value);
      headers[HEADER.valueRef] = path;
      kept = Buffer.alloc(0);
    } else {
      headers[HEADER.valueTruncated] = 'true';
      kept = value.subarray(0, maxValueBytes);
    }
  }
  const key = r.key && r.key.length > MAX_HEADER_CHARS ? r.key.subarray(0, MAX_HEADER_CHARS) : r.key;
  const frameId = ids.frameId === undefined ? (normalizeHeaderNames(r.headers)[HEADER.frameId] ?? `${r.topic}-${r.partition}-${r.offset}`) : ids.frameId;
  if (frameId !== null) headers[HEADER.frameId] = cut(frameId, MAX_HEADER_CHARS);
  if (key && key.length > 0) headers[HEADER.sensorId] = cut(key.toString('utf8'), MAX_HEADER_CHARS);
  return {
    topic: dlqTopic,
    key,
    value: kept,
    headers: {
      ...headers,
      [HEADER.errorCode]: cut(code, 64),
      [HEADER.errorMessage]: cut(message, MAX_HEADER_CHARS),
      [HEADER.sourceTopic]: r.topic,
      [HEADER.sourcePartition]: String(r.partition),
      [HEADER.sourceOffset]: r.offset,
    },
  };
}
