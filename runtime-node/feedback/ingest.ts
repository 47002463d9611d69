/**
 * Feedback in: labels from `edgeseg.feedback` and from `POST /feedback` (the browser demo) are
 * validated, joined with their frame, and appended to the versioned feedback store.
 *
 * A label's frame is the one the service kept when it asked for the label (the store's pending
 * frame, kept by ./label_requests.ts) or, from the browser, the image posted
 * with it. The mask must be a class-id PNG of the frame's size with ids below the serving model's
 * class count.
 * A refused label changes nothing: over HTTP it gets a 4xx with the reason, from Kafka it goes to
 * the dead-letter topic with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sharp from 'sharp';
import { ContractError, decodeMaskPng, EdgesegError, fromBase64, NUM_CLASSES, parseFeedback, RAW_RGB8, type FeedbackMessage, type Logger } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { DEFAULT_PNG_MASK_LIMITS, pngSize } from '../../core/mask_codec.js';
import { FeedbackStore, type FeedbackSample, type FeedbackVersion } from '../../core/node/feedback_store.js';
import type { RouteHandler } from '../http/server.js';
import { deadLetterRecord, type DeadLetterLimits } from '../transport/dead_letter.js';
import { readBody, RequestRefused, sendError } from '../http/limits.js';
import type { InRecord, OutRecord } from '../transport/transport.js';

/** A label that was refused; nothing was stored. `status` is the HTTP status it maps to. */
export class FeedbackRejected extends EdgesegError {
  constructor(
    code: 'FEEDBACK_INVALID' | 'FEEDBACK_TOO_LARGE' | 'FRAME_UNKNOWN' | 'MASK_INVALID' | 'MASK_MISMATCH' | 'IMAGE_INVALID',
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

export interface FeedbackIngestOptions {
  /** Feedback store directory (the same one label requests keep frames in). */
  store: string;
  /** Largest decoded mask PNG. @default 1 MiB */
  maxMaskBytes?: number;
  /** Largest posted image. @default 4 MiB */
  maxImageBytes?: number;
  /** Largest image side. @default 4096 */
  maxSide?: number;
  /**
   * The serving model's class count (`classCountOf(card)`), asked for each label: mask values
   * must be below it. A function, as a hot swap may change it. @default 3, edgeseg's own U-Nets'
   */
  classCount?: () => number;
}

/** A label as posted over HTTP: the Kafka message plus, optionally, the frame itself. */
export interface PostedFeedback extends FeedbackMessage {
  /** PNG/JPEG/WebP of the frame, base64, when the service never saw it (the browser demo). */
  image?: string;
  modelVersion?: string | null;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const IMAGE_MAGIC: [string, number[]][] = [
  ['png', [0x89, 0x50, 0x4e, 0x47]],
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['webp', [0x52, 0x49, 0x46, 0x46]],
];

export class FeedbackIngest {
  readonly store: FeedbackStore;
  private readonly maxMask: number;
  private readonly maxImage: number;
  private readonly maxSide: number;
  private readonly classCount: () => number;
  /** Objects of prepared samples, written only when they are committed. */
  private readonly unwritten = new WeakMap<FeedbackSample, Uint8Array[]>();

  constructor(o: FeedbackIngestOptions) {
    this.store = new FeedbackStore(o.store);
    this.maxMask = o.maxMaskBytes ?? 1 << 20;
    this.maxImage = o.maxImageBytes ?? 4 << 20;
    this.maxSide = o.maxSide ?? 4096;
    this.classCount = o.classCount ?? (() => NUM_CLASSES);
  }

  private base64(text: string, limit: number, what: string): Uint8Array {
    if (text.length > Math.ceil((limit * 4) / 3) + 4) throw new FeedbackRejected('FEEDBACK_TOO_LARGE', `${what} is larger than ${limit} bytes`, 413);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new FeedbackRejected('FEEDBACK_INVALID', `${what} is not base64`, 400);
    return fromBase64(text);
  }

  /**
   * The frame a label refers to: its object name, size, and the bytes still to be stored (a
   * posted image, or a raw frame re-encoded as PNG). Nothing is written here.
   */
  private async frameOf(m: PostedFeedback): Promise<{ sha: string; width: number; height: number; bytes?: Uint8Array }> {
    if (m.image !== undefined) {
      const bytes = this.base64(m.image, this.maxImage, 'image');
      if (!IMAGE_MAGIC.some(([, magic]) => magic.every((b, i) => bytes[i] === b))) throw new FeedbackRejected('IMAGE_INVALID', 'image is not a PNG, JPEG or WebP file', 422);
      let meta;
      try {
        meta = await sharp(bytes, { failOn: 'error', limitInputPixels: this.maxSide * this.maxSide }).metadata();
      } catch (err) {
        throw new FeedbackRejected('IMAGE_INVALID', `image cannot be decoded: ${(err as Error).message}`, 422);
      }
      if (!meta.width || !meta.height || meta.width > this.maxSide || meta.height > this.maxSide) throw new FeedbackRejected('IMAGE_INVALID', `image is ${meta.width}x${meta.height}; sides are 1–${this.maxSide}`, 422);
      return { sha: sha256(bytes), width: meta.width, height: meta.height, bytes };
    }
    const p = this.store.getPending(m.frameId);
    if (!p) throw new FeedbackRejected('FRAME_UNKNOWN', `frame ${m.frameId} is not in the feedback store (no label was requested for it) and no image was sent`, 404);
    const path = this.store.objectPath(p.image);
    if (!existsSync(path)) throw new FeedbackRejected('FRAME_UNKNOWN', `frame ${m.frameId}'s object ${p.image} is missing from the store`, 404);
    if (p.contentType === RAW_RGB8) {
      // Raw frames are kept as PNG so the dataset decoder reads them like any image.
      const png = await sharp(readFileSync(path), { raw: { width: p.width!, height: p.height!, channels: 3 } }).png().toBuffer();
      return { sha: sha256(png), width: p.width!, height: p.height!, bytes: png };
    }
    const meta = await sharp(readFileSync(path)).metadata();
    return { sha: p.image, width: meta.width!, height: meta.height! };
  }

  /**
   * Checks one label completely (body, frame, mask size, mask values) and writes nothing: its
   * objects are kept with the sample and written by `commit`, so a refused label leaves the
   * store untouched. The mask's declared size must be its frame's before it is inflated, which
   * bounds the work a hostile mask can cause to one frame's worth of pixels.
   */
  async prepare(input: PostedFeedback | string): Promise<FeedbackSample> {
    let m: PostedFeedback;
    try {
      m = parseFeedback(typeof input === 'string' ? input : JSON.stringify(input));
    } catch (err) {
      throw new FeedbackRejected('FEEDBACK_INVALID', describeError(err), 400);
    }
    const maskBytes = this.base64(m.mask, this.maxMask, 'mask');
    let declared;
    try {
      declared = pngSize(maskBytes);
    } catch (err) {
      throw new FeedbackRejected('MASK_INVALID', `mask is not a class-id PNG: ${describeError(err)}`, 422);
    }
    const frame = await this.frameOf(m);
    if (declared.width !== frame.width || declared.height !== frame.height) {
      throw new FeedbackRejected('MASK_MISMATCH', `mask is ${declared.width}x${declared.height} but frame ${m.frameId} is ${frame.width}x${frame.height}`, 422);
    }
    try {
      // 16-bit RGBA is the most a PNG of this size can inflate to; the codec's cap bounds it further.
      decodeMaskPng(maskBytes, { maxSide: this.maxSide, maxInflatedBytes: Math.min(frame.height * (1 + frame.width * 8), DEFAULT_PNG_MASK_LIMITS.maxInflatedBytes) }, this.classCount());
    } catch (err) {
      throw new FeedbackRejected('MASK_INVALID', `mask is not a class-id PNG: ${describeError(err)}`, 422);
    }
    const sample: FeedbackSample = { id: m.frameId, image: frame.sha, mask: sha256(maskBytes), source: m.source, ...(m.labeler ? { labeler: m.labeler } : {}), at: m.at ?? new Date().toISOString() };
    this.unwritten.set(sample, [maskBytes, ...(frame.bytes ? [frame.bytes] : [])]);
    return sample;
  }

  /** Writes prepared samples' objects, appends the samples as one new store version and forgets their pending frames. */
  async commit(samples: FeedbackSample[]): Promise<FeedbackVersion | null> {
    if (samples.length === 0) return null;
    for (const s of samples) {
      for (const bytes of this.unwritten.get(s) ?? []) this.store.putObject(bytes);
      this.unwritten.delete(s);
    }
    const version = await this.store.append(samples);
    for (const s of samples) this.store.removePending(s.id);
    return version;
  }
}

export interface FeedbackRouteOptions {
  /** Bearer token the request must carry. */
  token: string;
  /** Largest request body. @default 8 MiB */
  maxBodyBytes?: number;
  log?: Logger;
  /** Called after each stored label. */
  onLabel?(version: FeedbackVersion): void;
}

function sameToken(given: string, want: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(want).digest();
  return timingSafeEqual(a, b);
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', ...extra }).end(JSON.stringify(body));
}

/**
 * `POST /feedback` (and its CORS preflight): bearer token, body limit, JSON, then the ingest's
 * checks. 201 with the store version on success; 400/401/404/413/415/422 with `{error, code}` otherwise.
 */
export function feedbackRoutes(ingest: FeedbackIngest, o: FeedbackRouteOptions): Record<string, RouteHandler> {
  if (!o.token) throw new ContractError('the feedback endpoint needs a bearer token');
  const limit = o.maxBodyBytes ?? 8 << 20;
  const post: RouteHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const refuse = (status: number, error: string, code: string, extra: Record<string, string> = {}) =>
      sendError(req, res, status, error, code, { 'access-control-allow-origin': '*', ...extra });
    const auth = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(auth);
    if (!match || !sameToken(match[1], o.token)) return refuse(401, 'a valid bearer token is required', 'UNAUTHORIZED', { 'www-authenticate': 'Bearer' });
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return refuse(415, 'content-type must be application/json', 'UNSUPPORTED_MEDIA_TYPE');
    try {
      const sample = await ingest.prepare((await readBody(req, limit, 'FEEDBACK_TOO_LARGE')).toString('utf8'));
      const version = (await ingest.commit([sample]))!;
      o.log?.info('feedback stored', { frameId: sample.id, version: version.version, source: sample.source });
      o.onLabel?.(version);
      reply(res, 201, { frameId: sample.id, version: version.version, samples: version.samples.length });
    } catch (err) {
      if (err instanceof RequestRefused) return refuse(err.status, err.message, err.code);
      if (!(err instanceof FeedbackRejected)) throw err;
      o.log?.warn('feedback refused', { code: err.code, reason: err.message });
      reply(res, err.status, { error: err.message, code: err.code });
    }
  };
  const preflight: RouteHandler = (_req, res) => {
    res
      .writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      })
      .end();
  };
  return { 'POST /feedback': post, 'OPTIONS /feedback': preflight };
}

/** How much of a refused label is searched for its `frameId` when it is not whole JSON. */
const FRAME_ID_SCAN_BYTES = 64 * 1024;

/**
 * The `frameId` a refused label names, so its dead letter can be found by id even when the value
 * is cut: from the parsed JSON, else from the first `"frameId": "…"` in its first bytes; null
 * when neither holds one.
 */
function labelFrameId(value: Buffer | null): string | null {
  if (!value || value.length === 0) return null;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { frameId?: unknown }).frameId === 'string') return (parsed as { frameId: string }).frameId;
  } catch {
    // Not whole JSON (cut, or not JSON at all): look for the field in its first bytes below.
  }
  const m = /"frameId"\s*:\s*"((?:[^"\\\u0000-\u001f]|\\.){1,256})"/.exec(value.subarray(0, FRAME_ID_SCAN_BYTES).toString('utf8'));
  if (!m) return null;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return null;
  }
}

/** Options of one feedback batch's ingestion. */
export interface FeedbackBatchOptions {
  log?: Logger;
  /** Size bounds of the dead letters. @default DEFAULT_DEAD_LETTER_LIMITS */
  deadLetters?: DeadLetterLimits;
  /**
   * Called between records (the consumer's heartbeat): decoding a batch of large masks takes a
   * while, and the group must not lose the member meanwhile.
   */
  between?(): Promise<void>;
}

/**
 * Ingests one partition batch of `edgeseg.feedback` records: valid labels become one store
 * version, refused ones dead-letter records carrying the reason. Between records it yields to
 * the event loop and calls `between`, so heartbeats keep flowing however heavy the batch.
 */
export async function ingestFeedbackRecords(
  ingest: FeedbackIngest,
  records: InRecord[],
  dlqTopic: string,
  o: FeedbackBatchOptions = {},
): Promise<{ version: FeedbackVersion | null; deadLetters: OutRecord[] }> {
  const samples: FeedbackSample[] = [];
  const deadLetters: OutRecord[] = [];
  for (const r of records) {
    try {
      samples.push(await ingest.prepare(r.value?.toString('utf8') ?? ''));
    } catch (err) {
      if (!(err instanceof FeedbackRejected)) throw err;
      o.log?.warn('feedback refused', { offset: r.offset, code: err.code, reason: err.message });
      deadLetters.push(deadLetterRecord(r, dlqTopic, err.code, err.message, o.deadLetters, { frameId: labelFrameId(r.value) }));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    await o.between?.();
  }
  return { version: await ingest.commit(samples), deadLetters };
}
