/**
 * Feedback intake of the stream service: the two doors labels come in by, both onto one
 * FeedbackIngest (./ingest.ts: validation, the join with the kept frame, the store) —
 * `edgeseg.feedback` records, consumed in their own group (refused ones dead-lettered with the
 * reason), and `POST /feedback` on the service's HTTP port when a token is set. Each stored or
 * refused label is counted by channel and result.
 */
import type { Counter } from 'prom-client';
import { HEADER, type Logger, type Topics } from '../../core/index.js';
import type { FeedbackVersion } from '../../core/node/feedback_store.js';
import { FeedbackIngest, feedbackRoutes, ingestFeedbackRecords, type FeedbackIngestOptions } from './ingest.js';
import type { RouteHandler } from '../http/server.js';
import type { DeadLetterLimits } from '../transport/dead_letter.js';
import type { ConsumerHandle, Transport } from '../transport/transport.js';

/** Feedback in: the store labels join, and the HTTP endpoint's token and body limit. */
export type StreamFeedbackOptions = Omit<FeedbackIngestOptions, 'classCount'> & {
  /** Bearer token of `POST /feedback`; without one only `edgeseg.feedback` records are taken. */
  token?: string;
  /** Largest `POST /feedback` body. @default 8 MiB */
  maxBodyBytes?: number;
};

/** What the intake reads of the stream service's resolved options (ResolvedStreamOptions has it all). */
export interface FeedbackIntakeSettings {
  feedback: StreamFeedbackOptions;
  /** The service's consumer group; the intake consumes in `<groupId>.feedback`. */
  groupId: string;
  topics: Pick<Topics, 'feedback' | 'dlq'>;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxRestarts: number;
  deadLetters: DeadLetterLimits;
}

export interface FeedbackIntakeParts {
  /** The service's metrics: labels stored and refused, by channel and result. */
  metrics: { feedback: Counter<'channel' | 'result'> };
  log: Logger;
  /** After every new store version. */
  onLabel(stored: { version: number; samples: number; added: number }): void;
  /** The serving model's class count: label values must be below it. */
  classCount(): number;
}

export class FeedbackIntake {
  readonly ingest: FeedbackIngest;
  private consumer: ConsumerHandle | null = null;

  constructor(
    private readonly o: FeedbackIntakeSettings,
    private readonly parts: FeedbackIntakeParts,
  ) {
    this.ingest = new FeedbackIngest({ ...o.feedback, classCount: parts.classCount });
  }

  private stored(channel: 'http' | 'kafka', v: FeedbackVersion): void {
    this.parts.metrics.feedback.inc({ channel, result: 'stored' }, v.added);
    this.parts.onLabel({ version: v.version, samples: v.samples.length, added: v.added });
  }

  /** `POST /feedback` and its preflight, counted; none without a token. */
  routes(): Record<string, RouteHandler> {
    const token = this.o.feedback.token;
    if (!token) return {};
    const http = feedbackRoutes(this.ingest, {
      token,
      maxBodyBytes: this.o.feedback.maxBodyBytes,
      log: this.parts.log,
      onLabel: (v) => this.stored('http', v),
    });
    const post = http['POST /feedback'];
    return {
      'OPTIONS /feedback': http['OPTIONS /feedback'],
      'POST /feedback': async (req, res) => {
        await post(req, res);
        if (res.statusCode >= 400) this.parts.metrics.feedback.inc({ channel: 'http', result: String(res.statusCode) });
      },
    };
  }

  /** Consumes `edgeseg.feedback` in the group `<groupId>.feedback`. */
  async start(transport: Transport): Promise<void> {
    const o = this.o;
    this.consumer = await transport.consume(
      { groupId: `${o.groupId}.feedback`, topics: [o.topics.feedback], sessionTimeoutMs: o.sessionTimeoutMs, heartbeatIntervalMs: o.heartbeatIntervalMs, maxRestarts: o.maxRestarts },
      async (batch) => {
        const { version, deadLetters } = await ingestFeedbackRecords(this.ingest, batch.records, o.topics.dlq, {
          log: this.parts.log,
          deadLetters: o.deadLetters,
          between: () => batch.heartbeat().catch(() => {}),
        });
        for (const d of deadLetters) this.parts.metrics.feedback.inc({ channel: 'kafka', result: d.headers![HEADER.errorCode] });
        await batch.commit(batch.records[batch.records.length - 1], deadLetters);
        if (version) this.stored('kafka', version);
      },
    );
  }

  /** The consumer, once started (the service watches it). */
  get handle(): ConsumerHandle | null {
    return this.consumer;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop().catch(() => {});
  }
}
