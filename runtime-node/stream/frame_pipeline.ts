/**
 * The frame pipeline: the consumer group on `edgeseg.frames`. Each partition's records are
 * processed in runs (slices): frames are validated, segmented in the inference pool concurrently,
 * and their outputs — results, dead-letter records, drift events, label requests — are published
 * in offset order before the partition's offset moves past them (at-least-once; one transaction
 * in exactly-once mode). Order per sensor is kept because a sensor's frames share a partition and
 * a partition's runs are committed in sequence. Backpressure pauses the consumer while the
 * inference queue is above its high-water mark.
 */
import {
  FrameError,
  HEADER,
  LABEL_REQUEST_SCHEMA,
  SEGMENTATION_SCHEMA,
  type Logger,
  type SegmentationMessage,
} from '../../core/index.js';
import { deadLetterRecord } from '../transport/dead_letter.js';
import type { InferencePool } from '../pool/inference_pool.js';
import { validateFrame } from '../transport/frame_validation.js';
import type { LabelRequester } from '../feedback/label_requests.js';
import type { StreamMetrics } from './metrics.js';
import type { ConsumerHandle, InRecord, OutRecord, PartitionBatch, Transport } from '../transport/transport.js';
import type { ArmStats } from './arm_stats.js';
import type { DriftWatch } from './drift_watch.js';
import { BACKPRESSURE_INTERVAL_MS, type ResolvedStreamOptions } from './options.js';

/** How often a long run heartbeats, so the group keeps the member however long inference takes (kafkajs #375, #1527). */
const RUN_HEARTBEAT_MS = 1000;

export interface FramePipelineParts {
  pool: InferencePool;
  metrics: StreamMetrics;
  log: Logger;
  labels: LabelRequester | null;
  drift: DriftWatch | null;
  /** Per-arm evidence of a rollout (every result counts for the arm that made it). */
  arms: ArmStats;
}

export class FramePipeline {
  private consumer: ConsumerHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private stopping = false;

  constructor(
    private readonly o: ResolvedStreamOptions,
    private readonly parts: FramePipelineParts,
  ) {}

  /** Joins the frames consumer group and starts watching the inference queue. */
  async start(transport: Transport): Promise<void> {
    const o = this.o;
    this.consumer = await transport.consume(
      {
        groupId: o.groupId,
        topics: [o.topics.frames],
        sessionTimeoutMs: o.sessionTimeoutMs,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        concurrency: o.concurrency,
        exactlyOnce: o.exactlyOnce,
        maxRestarts: o.maxRestarts,
      },
      (batch) => this.handleBatch(batch),
    );
    this.timer = setInterval(() => this.backpressure(), BACKPRESSURE_INTERVAL_MS);
  }

  /** The frames consumer, once started (the service watches it). */
  get handle(): ConsumerHandle | null {
    return this.consumer;
  }

  /** True once the consumer group is joined (and not stopping). */
  get consuming(): boolean {
    return !this.stopping && this.consumer !== null;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  assignedPartitions(): number {
    return this.consumer?.assignedPartitions() ?? 0;
  }

  /** Finishes the runs in flight, commits them and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.paused) this.consumer?.resume();
    await this.consumer?.stop().catch(() => {});
  }

  private backpressure(): void {
    const { pool, metrics } = this.parts;
    const depth = pool.queueDepth;
    metrics.queueDepth.set(depth);
    if (!this.consumer) return;
    if (!this.paused && depth > this.o.highWater) {
      this.paused = true;
      this.consumer.pause();
      metrics.paused.set(1);
    } else if (this.paused && depth <= this.o.highWater / 2) {
      this.paused = false;
      this.consumer.resume();
      metrics.paused.set(0);
    }
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    const { metrics } = this.parts;
    const slice = this.o.sliceSize;
    metrics.consumerLag.set({ partition: String(batch.partition) }, batch.lagAfter + batch.records.length);
    for (let i = 0; i < batch.records.length; i += slice) {
      if (!batch.isActive()) return;
      const run = batch.records.slice(i, i + slice);
      const beat = setInterval(() => void batch.heartbeat().catch(() => {}), RUN_HEARTBEAT_MS);
      let outputs: OutRecord[][];
      try {
        outputs = await Promise.all(run.map((r) => this.process(r)));
      } finally {
        clearInterval(beat);
      }
      await batch.commit(run[run.length - 1], outputs.flat());
      metrics.batchSize.observe(run.length);
      metrics.consumerLag.set({ partition: String(batch.partition) }, batch.lagAfter + batch.records.length - i - run.length);
    }
  }

  private deadLetter(r: InRecord, code: string, message: string): OutRecord {
    this.parts.metrics.dlq.inc({ code });
    this.parts.log.warn('dead-lettered frame', { partition: r.partition, offset: r.offset, code, message });
    return deadLetterRecord(r, this.o.topics.dlq, code, message, this.o.deadLetters);
  }

  /** One frame's outputs: its result (plus drift event and label request), or its dead letter. */
  private async process(r: InRecord): Promise<OutRecord[]> {
    const { pool, metrics, labels, drift, arms } = this.parts;
    const topics = this.o.topics;
    metrics.framesIn.inc();
    let frame;
    try {
      frame = validateFrame(r, this.o.limits);
    } catch (err) {
      if (err instanceof FrameError) return [this.deadLetter(r, err.code, err.message)];
      throw err;
    }
    // The sensor picks the arm during a rollout, so a sensor stays on one version.
    let outcome;
    try {
      outcome = await pool.infer({ bytes: frame.bytes, contentType: frame.contentType, width: frame.width, height: frame.height }, frame.sensorId);
    } catch (err) {
      const arm = pool.armOf(frame.sensorId);
      arms.error(arm, arm === 'canary' ? pool.canary!.version : pool.model.version);
      throw err;
    }
    if (!outcome.ok) return [this.deadLetter(r, outcome.code, outcome.message)];
    const processedAt = new Date();
    const latencyMs = Math.max(0, processedAt.getTime() - Date.parse(frame.capturedAt));
    const message: SegmentationMessage = {
      schema: SEGMENTATION_SCHEMA,
      frameId: frame.frameId,
      sensorId: frame.sensorId,
      modelVersion: outcome.modelVersion,
      width: outcome.width,
      height: outcome.height,
      maskFormat: typeof outcome.mask === 'string' ? 'png' : 'rle',
      mask: outcome.mask,
      classCoverage: outcome.classCoverage,
      meanConfidence: outcome.meanConfidence,
      entropy: outcome.entropy,
      latencyMs,
      inferenceMs: outcome.inferenceMs,
      capturedAt: frame.capturedAt,
      processedAt: processedAt.toISOString(),
    };
    metrics.framesOut.inc();
    arms.observe({ frameId: frame.frameId, arm: outcome.arm, modelVersion: outcome.modelVersion, classes: outcome.classes, inferenceMs: outcome.inferenceMs, meanConfidence: outcome.meanConfidence, classCoverage: outcome.classCoverage, drift: outcome.input, mask: outcome.mask, width: outcome.width, height: outcome.height });
    metrics.inferenceSeconds.observe(outcome.inferenceMs / 1000);
    if (Number.isFinite(latencyMs)) metrics.endToEndSeconds.observe(latencyMs / 1000);
    const out: OutRecord[] = [
      { topic: topics.segmentations, key: frame.sensorId, value: JSON.stringify(message), headers: { [HEADER.schema]: SEGMENTATION_SCHEMA, [HEADER.frameId]: frame.frameId } },
    ];
    if (drift) out.push(...drift.observe({ ...outcome.input, classCoverage: outcome.classCoverage, meanConfidence: outcome.meanConfidence }, outcome.modelVersion, pool.model.card.name));
    const request = labels?.consider(frame, outcome, outcome.modelVersion);
    if (request) {
      metrics.labelRequests.inc();
      out.push({ topic: topics.labelRequests, key: frame.sensorId, value: JSON.stringify(request), headers: { [HEADER.schema]: LABEL_REQUEST_SCHEMA, [HEADER.frameId]: frame.frameId } });
    }
    return out;
  }
}
