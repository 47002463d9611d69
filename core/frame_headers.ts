/**
 * The frame contract's forgiving half: how a frame record's headers are read when a producer is
 * an ordinary one (kcat, DeepStream's message broker, an IoT SDK) that sets few or no headers, or
 * spells them its own way. Every rule here is written down in the README ("Frame records") and
 * costs nothing: a default that is always right (the Kafka record timestamp, magic bytes, the
 * record's coordinates) is used instead of refusing the frame. What cannot be right (a zone-less
 * time, an unknown media type) is still refused, with the reason.
 *
 * Platform-free: no Node module, so a browser producer can use the same rules.
 */
import { FrameError } from './errors.js';
import { z } from 'zod';

/** Longest frame or label id, in characters. */
export const MAX_RECORD_ID_CHARS = 256;

/**
 * The one rule for frame ids and label ids (`frame-id` header, feedback `frameId`, label request
 * `frameId`): 1–256 characters, no control character, not blank. Slashes and spaces are allowed
 * because ids travel only in headers and JSON; the feedback store encodes them before using one
 * in a file name.
 */
export const recordIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_RECORD_ID_CHARS, `must be at most ${MAX_RECORD_ID_CHARS} characters`)
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must hold no control characters')
  .refine((s) => s.trim().length > 0, 'must not be blank');

/** Lower-cased header names (Kafka header names are case-sensitive bytes; ours are not). The first of two spellings wins. */
export function normalizeHeaderNames(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.trim().toLowerCase();
    if (!(name in out)) out[name] = v;
  }
  return out;
}

/** Media type aliases producers send, mapped to the one edgeseg names. */
const MEDIA_TYPE_ALIASES: Readonly<Record<string, string>> = { 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'image/x-png': 'image/png' };

/** `Image/JPG; q=1` → `image/jpeg`: lower case, parameters dropped, aliases resolved. */
export function normalizeMediaType(value: string): string {
  const bare = value.split(';')[0].trim().toLowerCase();
  return MEDIA_TYPE_ALIASES[bare] ?? bare;
}

/** The encoded image type its first bytes announce (JPEG, PNG, WebP), or null. */
export function sniffImageType(bytes: Uint8Array): 'image/jpeg' | 'image/png' | 'image/webp' | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'image/png';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/**
 * Epoch digits → milliseconds, the unit told by magnitude (the README's rule):
 * below 10^11 seconds, below 10^14 milliseconds, below 10^17 microseconds, otherwise
 * nanoseconds (up to 20 digits). Any time from 1973 to 5138 reads the same in every unit, so a
 * producer's unit is never guessed wrong for a real capture time.
 */
export function epochDigitsToMs(digits: string): number {
  if (!/^\d{1,20}$/.test(digits)) throw new FrameError('INVALID_HEADER', `header 'captured-at' ${JSON.stringify(digits.slice(0, 40))} is not epoch digits`);
  const n = BigInt(digits);
  if (n < 100_000_000_000n) return Number(n) * 1000;
  if (n < 100_000_000_000_000n) return Number(n);
  if (n < 100_000_000_000_000_000n) return Number(n / 1000n) + Number(n % 1000n) / 1000;
  return Number(n / 1_000_000n) + Number(n % 1_000_000n) / 1e6;
}

/** ISO 8601 / RFC 3339 date-time with a zone (`Z` or ±hh:mm / ±hhmm / ±hh). */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$/;
/** The same without a zone: refused, because it would be read in the consumer's time zone. */
const ISO_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/;

/** Earliest and latest capture time accepted (a time outside is a unit or clock error). */
const MIN_CAPTURE_MS = Date.UTC(1970, 0, 1);
const MAX_CAPTURE_MS = Date.UTC(9999, 11, 31);

/**
 * A `captured-at` header value → RFC 3339 UTC with milliseconds (`2024-12-07T05:40:00.000Z`).
 * Accepts ISO 8601 with a zone, or epoch seconds/ms/µs/ns as digits (see epochDigitsToMs).
 * Absent (undefined) → the Kafka record timestamp `recordTimestampMs`. Throws INVALID_HEADER
 * with the reason otherwise.
 */
export function parseCapturedAt(value: string | undefined, recordTimestampMs: number): string {
  let ms: number;
  // A broker timestamp is always set on v2 records; a missing one must not cost a good image.
  if (value === undefined) ms = Number.isFinite(recordTimestampMs) && recordTimestampMs > 0 ? recordTimestampMs : Date.now();
  else {
    const v = value.trim();
    if (/^\d+$/.test(v)) ms = epochDigitsToMs(v);
    else if (ISO_WITH_ZONE.test(v)) {
      // Date.parse reads at most milliseconds; more fraction digits are dropped, not rounded into a refusal.
      ms = Date.parse(v.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1').replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([+-]\d{2})$/, '$1:00'));
    } else if (ISO_WITHOUT_ZONE.test(v)) {
      throw new FrameError('INVALID_HEADER', `header 'captured-at' '${v}' has no time zone; add 'Z' or an offset (e.g. ${v.replace(' ', 'T')}Z), or send epoch milliseconds`);
    } else {
      throw new FrameError('INVALID_HEADER', `header 'captured-at' ${JSON.stringify(v.slice(0, 64))} is neither ISO 8601 with a zone nor epoch digits (s, ms, µs or ns)`);
    }
  }
  if (!Number.isFinite(ms) || ms < MIN_CAPTURE_MS || ms > MAX_CAPTURE_MS) {
    throw new FrameError('INVALID_HEADER', `header 'captured-at' ${JSON.stringify(String(value ?? recordTimestampMs).slice(0, 64))} is not a time between 1970 and 9999`);
  }
  return new Date(Math.floor(ms)).toISOString();
}
