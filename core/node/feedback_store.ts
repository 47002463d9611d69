/**
 * The feedback store: a versioned, content-addressed, append-only dataset of human (or
 * simulated) labels joined with their frames.
 *
 * ```
 * <dir>/objects/<aa>/<sha256>    frame and mask bytes, named by their sha256 (written once)
 * <dir>/versions/<000001>.json   one manifest per version: only the samples it added
 * <dir>/snapshots/<000001>.json  now and then: every sample of that version, in full
 * <dir>/pending/<frameId>.json   a frame kept for labelling, waiting for its label
 * ```
 * A version holds all samples (the previous version's plus the new ones; a new label for the
 * same frame id replaces the older one), so any version can be trained on by itself:
 * `feedback:<dir>@<version>`. On disk a version's manifest lists only what it added, so the
 * store grows with the labels, not with labels × versions; `read` rebuilds a version from the
 * newest snapshot at or before it plus the manifests after that snapshot. A snapshot is written
 * when the manifests since the last one hold as many samples as it (at least
 * `SNAPSHOT_MIN_SAMPLES`) or number `SNAPSHOT_MAX_CHAIN`, which keeps snapshots a geometric
 * series (a few times the labels in all) and a read to a bounded number of files. Manifests
 * written before this layout (schema `edgeseg.feedback.v1`, every sample) read as snapshots.
 * Versions and snapshots are never rewritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatasetError } from '../index.js';
import { withLock, writeFileAtomic } from './fs_atomic.js';

/** Schema id of a feedback store version manifest. */
export const FEEDBACK_SCHEMA = 'edgeseg.feedback.v1';
/** On-disk manifest of one version: the samples it added. */
export const FEEDBACK_DELTA_SCHEMA = 'edgeseg.feedback-delta.v1';
/** A snapshot waits for at least this many samples added since the last one… */
export const SNAPSHOT_MIN_SAMPLES = 256;
/** …unless this many versions were written since, however small. */
export const SNAPSHOT_MAX_CHAIN = 512;

/** A version rebuilt, with how far it is from the last full list (snapshot or old-layout manifest). */
interface Rebuilt {
  full: FeedbackVersion;
  /** Manifests read after the full list, this one included. */
  chain: number;
  /** Samples those manifests added. */
  since: number;
  /** Samples of the full list. */
  baseSize: number;
}

/** What `versions/<n>.json` holds. */
interface DeltaManifest {
  schema: typeof FEEDBACK_DELTA_SCHEMA;
  version: number;
  parent: number | null;
  created: string;
  /** Samples new in this version (same id as an older sample: replaces it). */
  samples: FeedbackSample[];
}

/** One labeled frame in the feedback store. */
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

/** One version manifest of the feedback store: its samples and what it added. */
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

/** Append-only, content-addressed store of labeled frames (`objects/<sha256>`, one manifest per version), plus the pending frames awaiting labels. */
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
    // Frame ids come from producers: encoded, they cannot name a path outside pending/. An id
    // whose encoding is too long for a file name is named by its sha256 instead ('%%' never
    // starts an encoded id, so the two forms cannot collide).
    const encoded = encodeURIComponent(frameId);
    const name = encoded.length <= 200 ? encoded : `%%${createHash('sha256').update(frameId).digest('hex')}`;
    return join(this.dir, 'pending', `${name}.json`);
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
    return this.numbered('versions');
  }

  latest(): number | null {
    const v = this.versions();
    return v.length ? v[v.length - 1] : null;
  }

  private file(kind: 'versions' | 'snapshots', v: number): string {
    return join(this.dir, kind, `${String(v).padStart(6, '0')}.json`);
  }

  private readJson(path: string): DeltaManifest | FeedbackVersion {
    let m: DeltaManifest | FeedbackVersion;
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as DeltaManifest | FeedbackVersion;
    } catch (err) {
      throw new DatasetError('DATASET_SPEC_INVALID', `${path} is not a readable manifest: ${(err as Error).message}`);
    }
    if (m?.schema !== FEEDBACK_SCHEMA && m?.schema !== FEEDBACK_DELTA_SCHEMA) throw new DatasetError('DATASET_SPEC_INVALID', `${path} is not a ${FEEDBACK_SCHEMA} manifest`);
    if (!Array.isArray(m.samples)) throw new DatasetError('DATASET_SPEC_INVALID', `${path} lists no samples`);
    return m;
  }

  /** Snapshot versions, oldest first. */
  private snapshots(): number[] {
    return this.numbered('snapshots');
  }

  /** The version numbers of the `<n>.json` files in `versions/` or `snapshots/`, ascending. */
  private numbered(kind: 'versions' | 'snapshots'): number[] {
    const dir = join(this.dir, kind);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((f) => /^(\d+)\.json$/.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Every sample of version `v`: the newest full list at or before it (snapshot or old-layout manifest), then the manifests after. */
  read(version?: number): FeedbackVersion {
    const v = version ?? this.latest();
    if (v === null) throw new DatasetError('DATASET_EMPTY', `feedback store ${this.dir} has no versions yet`);
    return this.rebuild(v).full;
  }

  /** The last version rebuilt: versions are immutable, so appends in one process chain on it. */
  private last: Rebuilt | null = null;

  private rebuild(v: number): Rebuilt {
    if (this.last?.full.version === v) return this.last;
    const path = this.file('versions', v);
    if (!existsSync(path)) throw new DatasetError('DATASET_NOT_FOUND', `feedback store ${this.dir} has no version ${v}`);
    const own = this.readJson(path);
    if (own.schema === FEEDBACK_SCHEMA) return { full: own as FeedbackVersion, chain: 0, since: 0, baseSize: own.samples.length };
    const snap = this.snapshots().filter((s) => s <= v).at(-1) ?? 0;
    const deltas: DeltaManifest[] = [own as DeltaManifest];
    let base: FeedbackSample[] = [];
    for (let u = v - 1; u >= 1; u--) {
      if (u === snap) {
        base = this.readJson(this.file('snapshots', u)).samples;
        break;
      }
      const p = this.file('versions', u);
      if (!existsSync(p)) continue;
      const m = this.readJson(p);
      if (m.schema === FEEDBACK_SCHEMA) {
        base = m.samples;
        break;
      }
      deltas.push(m);
    }
    const byId = new Map(base.map((s) => [s.id, s]));
    for (const d of deltas.reverse()) for (const s of d.samples) byId.set(s.id, s);
    const full: FeedbackVersion = { schema: FEEDBACK_SCHEMA, version: v, parent: own.parent, created: own.created, added: own.samples.length, samples: [...byId.values()] };
    return { full, chain: deltas.length, since: deltas.reduce((n, d) => n + d.samples.length, 0), baseSize: base.length };
  }

  /** Writes a new version adding `added` to the latest version's samples (same id: newest wins). */
  async append(added: FeedbackSample[]): Promise<FeedbackVersion> {
    for (const s of added) {
      if (!existsSync(this.objectPath(s.image)) || !existsSync(this.objectPath(s.mask))) {
        throw new DatasetError('DATASET_NOT_FOUND', `feedback sample ${s.id} refers to objects not in the store`);
      }
    }
    mkdirSync(join(this.dir, 'versions'), { recursive: true });
    return withLock(join(this.dir, 'versions'), () => {
      const parent = this.latest();
      const prev: Rebuilt = parent === null ? { full: { schema: FEEDBACK_SCHEMA, version: 0, parent: null, created: '', added: 0, samples: [] }, chain: 0, since: 0, baseSize: 0 } : this.rebuild(parent);
      const version = (parent ?? 0) + 1;
      const delta: DeltaManifest = { schema: FEEDBACK_DELTA_SCHEMA, version, parent, created: new Date().toISOString(), samples: added };
      writeFileAtomic(this.file('versions', version), JSON.stringify(delta, null, 1));
      const byId = new Map(prev.full.samples.map((s) => [s.id, s]));
      for (const s of added) byId.set(s.id, s);
      const full: FeedbackVersion = { schema: FEEDBACK_SCHEMA, version, parent, created: delta.created, added: added.length, samples: [...byId.values()] };
      let next: Rebuilt = { full, chain: prev.chain + 1, since: prev.since + added.length, baseSize: prev.baseSize };
      // Snapshots keep reads short while their total stays a geometric series of the labels.
      if (next.since >= Math.max(SNAPSHOT_MIN_SAMPLES, next.baseSize) || next.chain >= SNAPSHOT_MAX_CHAIN) {
        mkdirSync(join(this.dir, 'snapshots'), { recursive: true });
        writeFileAtomic(this.file('snapshots', version), JSON.stringify(full));
        next = { full, chain: 0, since: 0, baseSize: full.samples.length };
      }
      this.last = next;
      return full;
    });
  }
}
