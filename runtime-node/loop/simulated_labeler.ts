/**
 * A simulated labeller for demos and tests: answers `edgeseg.label-requests` on `edgeseg.feedback`
 * with the ground-truth mask of the dataset sample a frame was made from (the frame's
 * `sample-id`, which names the source too: frames of another source are not answered), so the
 * closed loop runs without people. `mode: 'background'` answers every request with an
 * all-background mask: a careless labeller whose labels make a worse challenger.
 * `perVersion` makes an auditor who labels a sample of each arm's traffic (a request names the
 * version that served its frame) rather than every request.
 */
import { readFileSync } from 'node:fs';
import {
  CLASS_BACKGROUND,
  ConfigError,
  decodeMaskPng,
  encodeMaskPng,
  FEEDBACK_SCHEMA_MESSAGE,
  parseLabelRequest,
  parseDatasetSpecs,
  syntheticSample,
  toBase64,
  type ClassMask,
  type FeedbackMessage,
  type LabelRequestMessage,
  type Logger,
  type Topics,
} from '../../core/index.js';
import { sampleKey, type SampleRef } from '../../trainer/data/sample.js';
import { listSources } from '../../trainer/data/sources/index.js';
import type { ConsumerHandle, Transport } from '../transport.js';

export interface SimulatedLabelerOptions {
  /** The dataset spec the frames were produced from (the producer's `--source`). */
  source: string;
  topics: Topics;
  groupId: string;
  /** @default 'truth' */
  mode?: 'truth' | 'background';
  /** Answer requests already on the topic too (a new labeller group). @default true */
  fromBeginning?: boolean;
  /** Answer at most this many requests. @default Infinity */
  limit?: number;
  /** Answer at most this many requests per model version (an auditor sampling each arm). @default Infinity */
  perVersion?: number;
  log?: Logger;
}

function groundTruth(ref: SampleRef): ClassMask {
  if (ref.kind === 'synthetic') return syntheticSample(ref.index, ref).mask;
  if (ref.maskFormat === 'classIds') return decodeMaskPng(readFileSync(ref.mask));
  throw new ConfigError(`the simulated labeler answers synthetic and class-id sources only, not ${ref.id}`);
}

export class SimulatedLabeler {
  skipped = 0;
  /** Frames answered (in committed batches). */
  private readonly answeredFrames = new Set<string>();
  private consumer: ConsumerHandle | null = null;
  private readonly refs: Map<string, SampleRef>;
  /** Requests answered per model version (for `perVersion`). */
  private readonly answeredPerVersion = new Map<string, number>();

  constructor(
    private readonly transport: Transport,
    private readonly o: SimulatedLabelerOptions,
  ) {
    this.refs = new Map(listSources(parseDatasetSpecs(o.source)).refs.map((r) => [sampleKey(r), r]));
  }

  /** The feedback message for a request, or null when the frame has no known sample. */
  answer(request: LabelRequestMessage): FeedbackMessage | null {
    const ref = request.frame.sampleId ? this.refs.get(request.frame.sampleId) : undefined;
    if (!ref) return null;
    const truth = groundTruth(ref);
    const mask = this.o.mode === 'background' ? { ...truth, data: new Uint8Array(truth.data.length).fill(CLASS_BACKGROUND) } : truth;
    return { schema: FEEDBACK_SCHEMA_MESSAGE, frameId: request.frameId, mask: toBase64(encodeMaskPng(mask)), source: 'simulated', labeler: this.o.mode === 'background' ? 'careless' : 'ground-truth', at: new Date().toISOString() };
  }

  /**
   * The answer to a request within the `perVersion` cap, or null. It counts in `uncommitted` when
   * given (answers of a batch not yet committed), else at once.
   */
  respond(request: LabelRequestMessage, uncommitted?: Map<string, number>): FeedbackMessage | null {
    const version = request.modelVersion;
    const counts = uncommitted ?? this.answeredPerVersion;
    if ((this.answeredPerVersion.get(version) ?? 0) + (uncommitted?.get(version) ?? 0) >= (this.o.perVersion ?? Infinity)) return null;
    const message = this.answer(request);
    if (message) counts.set(version, (counts.get(version) ?? 0) + 1);
    return message;
  }

  /** Frames answered so far. */
  get answered(): number {
    return this.answeredFrames.size;
  }

  async start(): Promise<void> {
    const limit = this.o.limit ?? Infinity;
    this.consumer = await this.transport.consume({ groupId: this.o.groupId, topics: [this.o.topics.labelRequests], fromBeginning: this.o.fromBeginning ?? true }, async (batch) => {
      // Answers count once their batch is committed, and a frame once: a batch that fails (a
      // rebalance while the group forms) comes again, and its answers with it.
      const out = [];
      const frames = new Set<string>();
      const perVersion = new Map<string, number>();
      for (const r of batch.records) {
        if (this.answeredFrames.size + frames.size >= limit) break;
        let request: LabelRequestMessage;
        try {
          request = parseLabelRequest(r.value?.toString() ?? '');
        } catch (err) {
          this.skipped++;
          this.o.log?.warn('ignored a malformed label request', { offset: r.offset, error: (err as Error).message });
          continue;
        }
        if (this.answeredFrames.has(request.frameId) || frames.has(request.frameId)) {
          this.skipped++;
          continue;
        }
        const message = this.respond(request, perVersion);
        if (!message) {
          this.skipped++;
          continue;
        }
        out.push({ topic: this.o.topics.feedback, key: request.frameId, value: JSON.stringify(message) });
        frames.add(request.frameId);
      }
      await batch.commit(batch.records[batch.records.length - 1], out);
      for (const id of frames) this.answeredFrames.add(id);
      for (const [version, n] of perVersion) this.answeredPerVersion.set(version, (this.answeredPerVersion.get(version) ?? 0) + n);
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }
}
