/**
 * Uncertainty sampling (the data flywheel): frames whose mean pixel entropy is high or whose mean
 * top-1/top-2 margin is low are kept in the feedback store and announced on the label-requests
 * topic, at most `maxPerMinute` of them (a token bucket), so labellers see the most useful frames first.
 */
import { LABEL_REQUEST_SCHEMA, type LabelRequestMessage } from '../../core/index.js';
import { maxEntropy } from '../../core/postprocess.js';
import { FeedbackStore, type PendingFrame } from '../../core/node/feedback_store.js';
import type { ValidFrame } from '../transport/frame_validation.js';

/** Uncertainty sampling: which frames ask for a label, and where they are kept. */
export interface LabelRequestOptions {
  /** Feedback store directory where frames are kept. */
  store: string;
  /** Request a label when mean entropy ≥ this fraction of its largest value, ln(the model's class count). @default LABEL_REQUEST_DEFAULTS.entropyFraction (0.35) */
  entropyFraction?: number;
  /** …or when the mean top-1/top-2 margin ≤ this. @default LABEL_REQUEST_DEFAULTS.marginBelow (0.5) */
  marginBelow?: number;
  /** At most this many requests per minute. @default LABEL_REQUEST_DEFAULTS.maxPerMinute (60) */
  maxPerMinute?: number;
}

/** The defaults of LabelRequestOptions. */
export const LABEL_REQUEST_DEFAULTS = { entropyFraction: 0.35, marginBelow: 0.5, maxPerMinute: 60 } as const satisfies Required<Omit<LabelRequestOptions, 'store'>>;

/** Asks for labels of uncertain frames on `edgeseg.label-requests` and keeps the frames to join their labels. */
export class LabelRequester {
  readonly store: FeedbackStore;
  private tokens: number;
  private last = Date.now();
  private readonly entropyFraction: number;
  private readonly marginBelow: number;
  private readonly perMinute: number;

  constructor(options: LabelRequestOptions) {
    this.store = new FeedbackStore(options.store);
    this.entropyFraction = options.entropyFraction ?? LABEL_REQUEST_DEFAULTS.entropyFraction;
    this.marginBelow = options.marginBelow ?? LABEL_REQUEST_DEFAULTS.marginBelow;
    this.perMinute = options.maxPerMinute ?? LABEL_REQUEST_DEFAULTS.maxPerMinute;
    this.tokens = this.perMinute;
  }

  /**
   * The label request for a frame, or null when the model is confident enough or the budget is
   * spent. Entropy is judged against the model's own ceiling: ln of its class count, one per
   * `classCoverage` entry (ln 3 for edgeseg's U-Nets, ln 21 for a PASCAL DeepLab).
   */
  consider(frame: ValidFrame, outcome: { entropy: number; margin: number; classCoverage: readonly number[] }, modelVersion: string): LabelRequestMessage | null {
    const ceiling = maxEntropy(outcome.classCoverage.length);
    const entropyAt = this.entropyFraction * ceiling;
    const byEntropy = outcome.entropy >= entropyAt;
    const byMargin = outcome.margin <= this.marginBelow;
    if (!byEntropy && !byMargin) return null;
    const now = Date.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) / 60_000) * this.perMinute);
    this.last = now;
    if (this.tokens < 1) return null;
    this.tokens -= 1;
    const sha = this.store.putObject(frame.bytes);
    const pending: PendingFrame = {
      frameId: frame.frameId,
      sensorId: frame.sensorId,
      image: sha,
      contentType: frame.contentType,
      width: frame.width,
      height: frame.height,
      sampleId: frame.sampleId,
      modelVersion,
      score: outcome.entropy / ceiling,
      at: new Date(now).toISOString(),
    };
    this.store.putPending(pending);
    return {
      schema: LABEL_REQUEST_SCHEMA,
      frameId: frame.frameId,
      sensorId: frame.sensorId,
      score: pending.score,
      reason: byEntropy ? `mean entropy ${outcome.entropy.toFixed(3)} nats ≥ ${entropyAt.toFixed(3)}` : `mean margin ${outcome.margin.toFixed(3)} ≤ ${this.marginBelow}`,
      modelVersion,
      frame: { store: this.store.dir, sha256: sha, contentType: frame.contentType, width: frame.width, height: frame.height, sampleId: frame.sampleId },
      at: pending.at,
    };
  }
}
