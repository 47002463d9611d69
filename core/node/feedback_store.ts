/**
 * The feedback store: a versioned, content-addressed, append-only dataset of human (or
 * simulated) labels joined with their frames.
 *
 * ```
 * <dir>/objects/<aa>/<sha256>   frame and mask bytes, named by their sha256 (written once)
 * <dir>/versions/<000001>.json  one manifest per version: every sample of that version
 * <dir>/pending/<frameId>.json  a frame kept for labelling, waiting for its label
 * ```
 * A version lists all samples (the previous version's plus the new ones; a new label for the
 * same frame id replaces the older one), so any version can be trained on by itself:
 * `feedback:<dir>@<version>` (trainer/data/sources/feedback.ts). Versions are never rewritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatasetError } from '../index.js';
import { withLock, writeFileAtomic } from './fs_atomic.js';

export const FEEDBACK_SCHEMA = 'edgeseg.feedback.v1';

export interface FeedbackSample {
  /** Frame id. */
  id: string;
  /** sha256 of the frame's encoded bytes (JPEG, PNG or WebP). */
  image: string;
  /** sha256 of the class-id PNG mask. */
  mask: string;
  /** Where the label came from: `http`, `kafka`, `simulated`… */
  source: string;
  labeler?: string;
  /** ISO time of the label. */
  at: string;
}

export interface FeedbackVersion {
  schema: typeof FEEDBACK_SCHEMA;
  version: number;
  parent: number | null;
  created: string;
  /** Samples new in this version. */
  added: number;
  samples: FeedbackSample[];
}

/**
 * A frame the stream service kept when it asked for a label: the label that comes back later is
 * joined with it. Its bytes are the store object `image`.
 */
export interface PendingFrame {
  frameId: string;
  sensorId: string;
  /** sha256 of the frame's bytes as received (a container file, or raw RGB8). */
  image: string;
  contentType: string;
  /** Pixel size, for raw RGB8 frames. */
  width?: number;
  height?: number;
  /** The dataset sample the frame was made from (synthetic sources), for simulated labellers. */
  sampleId?: string;
  modelVersion: string;
  /** Mean entropy as a fraction of its maximum. */
  score: number;
  /** ISO time of the request. */
  at: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

export class FeedbackStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  objectPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new DatasetError('DATASET_SPEC_INVALID', `'${sha256}' is not a sha256 object name`);
    return join(this.dir, 'objects', sha256.slice(0, 2), sha256);
  }

  /** Stores bytes under their sha256 (idempotent) and returns the hash. */
  putObject(bytes: Uint8Array): string {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const path = this.objectPath(sha);
    if (!existsSync(path)) writeFileAtomic(path, bytes);
    return sha;
  }

  private pendingPath(frameId: string): string {
    // Frame ids come from producers: encoded, they cannot name a path outside pending/.
    return join(this.dir, 'pending', `${encodeURIComponent(frameId)}.json`);
  }

  /** Keeps a frame for labelling (its bytes must already be an object); a later request for the same id replaces it. */
  putPending(frame: PendingFrame): void {
    writeFileAtomic(this.pendingPath(frame.frameId), JSON.stringify(frame));
  }

  /** The pending frame of `frameId`, or null when no label was requested for it (or it was labelled since). */
  getPending(frameId: string): PendingFrame | null {
    const path = this.pendingPath(frameId);
    if (!existsSync(path)) return null;
    return JSON.parse(readFileSync(path, 'utf8')) as PendingFrame;
  }

  /** Forgets a pending frame (its label was stored); absent ones are ignored. */
  removePending(frameId: string): void {
    rmSync(this.pendingPath(frameId), { force: true });
  }

  /** Every pending frame, oldest request first. */
  listPending(): PendingFrame[] {
    const dir = join(this.dir, 'pending');
    if (!existsSync(dir)) return [];
    const frames: PendingFrame[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        frames.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as PendingFrame);
      } catch {
        // Removed by a label between readdir and read.
      }
    }
    return frames.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  versions(): number[] {
    const dir = join(this.dir, 'versions');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((f) => /^(\d+)\.json$/.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  latest(): number | null {
    const v = this.versions();
    return v.length ? v[v.length - 1] : null;
  }

  read(version?: number): FeedbackVersion {
    const v = version ?? this.latest();
    if (v === null) throw new DatasetError('DATASET_EMPTY', `feedback store ${this.dir} has no versions yet`);
    const path = join(this.dir, 'versions', `${String(v).padStart(6, '0')}.json`);
    if (!existsSync(path)) throw new DatasetError('DATASET_NOT_FOUND', `feedback store ${this.dir} has no version ${v}`);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as FeedbackVersion;
    if (manifest.schema !== FEEDBACK_SCHEMA) throw new DatasetError('DATASET_SPEC_INVALID', `${path} is not a ${FEEDBACK_SCHEMA} manifest`);
    return manifest;
  }

  /** Writes a new version holding the latest version's samples plus `added` (same id: newest wins). */
  async append(added: FeedbackSample[]): Promise<FeedbackVersion> {
    mkdirSync(join(this.dir, 'versions'), { recursive: true });
    return withLock(join(this.dir, 'versions'), () => {
      const parent = this.latest();
      const byId = new Map((parent === null ? [] : this.read(parent).samples).map((s) => [s.id, s]));
      for (const s of added) {
        if (!existsSync(this.objectPath(s.image)) || !existsSync(this.objectPath(s.mask))) {
          throw new DatasetError('DATASET_NOT_FOUND', `feedback sample ${s.id} refers to objects not in the store`);
        }
        byId.set(s.id, s);
      }
      const version = (parent ?? 0) + 1;
      const manifest: FeedbackVersion = {
        schema: FEEDBACK_SCHEMA,
        version,
        parent,
        created: new Date().toISOString(),
        added: added.length,
        samples: [...byId.values()],
      };
      writeFileAtomic(join(this.dir, 'versions', `${String(version).padStart(6, '0')}.json`), JSON.stringify(manifest, null, 1));
      return manifest;
    });
  }
}
