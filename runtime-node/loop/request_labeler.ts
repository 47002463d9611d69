/**
 * A machine labeller of the closed loop: consumes `edgeseg.label-requests` and answers on
 * `edgeseg.feedback` with a mask, the way a person using the feedback endpoint would. Subclasses
 * say how a request is labelled (`label`): the simulated labeller from a dataset's ground truth,
 * the teacher labeller with a teacher model. Answers count once their batch is committed, and a
 * frame once: a batch that fails (a rebalance while the group forms) comes again, and its answers
 * with it. `perVersion` makes an auditor who labels a sample of each arm's traffic (a request names
 * the version that served its frame) rather than every request.
 */
import { parseLabelRequest, type FeedbackMessage, type LabelRequestMessage, type Logger, type Topics } from '../../core/index.js';
import type { ConsumerHandle, Transport } from '../transport/transport.js';

export interface RequestLabelerOptions {
  topics: Topics;
  groupId: string;
  /** Answer requests already on the topic too (a new labeller group). @default true */
  fromBeginning?: boolean;
  /** Answer at most this many requests. @default Infinity */
  limit?: number;
  /** Answer at most this many requests per model version (an auditor sampling each arm). @default Infinity */
  perVersion?: number;
  log?: Logger;
}

export abstract class RequestLabeler {
  /** Requests not answered: malformed, already answered, over a cap, or the labeller had no answer. */
  skipped = 0;
  private readonly answeredFrames = new Set<string>();
  private consumer: ConsumerHandle | null = null;
  private readonly answeredPerVersion = new Map<string, number>();

  constructor(
    protected readonly transport: Transport,
    protected readonly options: RequestLabelerOptions,
  ) {}

  /** The feedback message for a request, or null when this labeller has no answer for it. */
  protected abstract label(request: LabelRequestMessage): Promise<FeedbackMessage | null>;

  /**
   * The answer to a request within the `perVersion` cap, or null. It counts in `uncommitted` when
   * given (answers of a batch not yet committed), else at once.
   */
  async respond(request: LabelRequestMessage, uncommitted?: Map<string, number>): Promise<FeedbackMessage | null> {
    const version = request.modelVersion;
    const counts = uncommitted ?? this.answeredPerVersion;
    if ((this.answeredPerVersion.get(version) ?? 0) + (uncommitted?.get(version) ?? 0) >= (this.options.perVersion ?? Infinity)) return null;
    const message = await this.label(request);
    if (message) counts.set(version, (counts.get(version) ?? 0) + 1);
    return message;
  }

  /** Frames answered so far. */
  get answered(): number {
    return this.answeredFrames.size;
  }

  async start(): Promise<void> {
    const limit = this.options.limit ?? Infinity;
    const { topics, groupId, fromBeginning = true, log } = this.options;
    this.consumer = await this.transport.consume({ groupId, topics: [topics.labelRequests], fromBeginning }, async (batch) => {
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
          log?.warn('ignored a malformed label request', { offset: r.offset, error: (err as Error).message });
          continue;
        }
        if (this.answeredFrames.has(request.frameId) || frames.has(request.frameId)) {
          this.skipped++;
          continue;
        }
        const message = await this.respond(request, perVersion);
        if (!message) {
          this.skipped++;
          continue;
        }
        out.push({ topic: topics.feedback, key: request.frameId, value: JSON.stringify(message) });
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
