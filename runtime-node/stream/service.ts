/**
 * The streaming segmentation service, composed of its jobs: the frame pipeline (frames in,
 * results / dead letters / label requests out, backpressure), the model watcher (hot swap on
 * model events and alias moves), feedback intake (labels from Kafka and HTTP into the store) and
 * the drift watch, around one inference pool, one transport and one HTTP server (/metrics,
 * /healthz, /readyz and the feedback route). Options are resolved once (options.ts); the parts
 * report back through the service's events.
 */
import { EventEmitter } from 'node:events';
import { ConfigError, type DriftReference, type DriftReport, type Logger, type Topics } from '../../core/index.js';
import { classCountOf } from '../../core/contract.js';
import { driftClassCount } from '../../core/drift.js';
import { describeError } from '../../core/errors.js';
import { type RolloutEvidence } from '../../core/rollout.js';
import { resolveModelRef } from '../../core/node/registry.js';
import { InferencePool } from '../pool/inference_pool.js';
import { startHttp } from '../http/server.js';
import { KafkaTransport } from '../transport/kafka_transport.js';
import { LabelRequester } from '../feedback/label_requests.js';
import { createMetrics, type StreamMetrics } from './metrics.js';
import type { Transport } from '../transport/transport.js';
import { ArmStats } from './arm_stats.js';
import { ConsumerWatch } from './consumer_watch.js';
import { DriftWatch } from './drift_watch.js';
import { FeedbackIntake } from '../feedback/stream_intake.js';
import { FramePipeline } from './frame_pipeline.js';
import { ModelWatcher } from './model_watcher.js';
import { resolveStreamOptions, type ResolvedStreamOptions, type StreamOptions } from './options.js';

/** Events a StreamService emits (model swaps, refusals, drift, errors). */
export interface StreamEvents {
  swap: [{ from: string; to: string }];
  swapRefused: [{ dir: string; error: string }];
  /** A canary started serving beside the champion (`to`), or stopped (`to` null). */
  canary: [{ from: string | null; to: string | null; weight: number }];
  drift: [DriftReport];
  feedback: [{ version: number; samples: number; added: number }];
  fatal: [Error];
}

/** Kafka frames in, masks out: a consumer group, an inference pool, a model watcher and feedback intake. Start with StreamService.start(). */
export class StreamService extends EventEmitter<StreamEvents> {
  readonly topics: Topics;
  readonly metrics: StreamMetrics;
  url: string | null = null;
  private readonly log: Logger;
  private readonly drift: DriftWatch | null;
  private readonly feedback: FeedbackIntake | null;
  private readonly pipeline: FramePipeline;
  private readonly watcher: ModelWatcher;
  private http: Awaited<ReturnType<typeof startHttp>> | null = null;
  private stopping = false;
  private readonly consumers: ConsumerWatch;
  /** Per-arm evidence of the rollout in progress. */
  readonly arms: ArmStats;
  private armTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly o: ResolvedStreamOptions,
    private readonly pool: InferencePool,
    private readonly transport: Transport,
  ) {
    super();
    this.log = o.log;
    this.topics = o.topics;
    this.metrics = createMetrics();
    this.consumers = new ConsumerWatch(this.metrics, this.log, () => this.stopping);
    this.arms = new ArmStats(this.metrics.registry, o.drift, this.log.child('arms'));
    this.drift = o.drift ? new DriftWatch(o.drift, o.topics.events, this.metrics, this.log, (report) => this.emit('drift', report)) : null;
    this.feedback = o.feedback
      ? new FeedbackIntake(
          { ...o, feedback: o.feedback },
          {
            metrics: this.metrics,
            log: this.log.child('feedback'),
            onLabel: (stored) => {
              this.arms.labelled(this.feedback!.ingest.store, stored.version);
              this.emit('feedback', stored);
            },
            classCount: () => classCountOf(pool.model.card),
          },
        )
      : null;
    this.pipeline = new FramePipeline(o, {
      pool,
      metrics: this.metrics,
      log: this.log,
      labels: o.labelRequests ? new LabelRequester(o.labelRequests) : null,
      drift: this.drift,
      arms: this.arms,
    });
    this.watcher = new ModelWatcher(o, {
      pool,
      metrics: this.metrics,
      log: this.log,
      onSwap: (change) => {
        this.setModelMetric();
        this.drift?.reset();
        this.emit('swap', change);
      },
      onRefused: (refusal) => this.emit('swapRefused', refusal),
      onCanary: (change) => {
        this.arms.restart();
        this.emit('canary', change);
      },
    });
    this.setModelMetric();
  }

  /** Resolves once the model is loaded and warm in every worker and the consumer groups are joined. */
  static async start(options: StreamOptions): Promise<StreamService> {
    const o = resolveStreamOptions(options);
    const dir = resolveModelRef(o.model, o.models);
    // The transport first: its constructor checks options and connects nothing, the pool starts threads.
    const transport =
      o.transport ??
      new KafkaTransport({
        brokers: o.brokers,
        ssl: o.ssl,
        sasl: o.sasl,
        clientId: `edgeseg-${o.instanceId}`,
        transactionalId: o.exactlyOnce ? `${o.groupId}.${o.instanceId}` : undefined,
        log: o.log.child('kafka'),
      });
    const pool = await InferencePool.start(dir, {
      workers: o.workers,
      backend: o.backend,
      engine: o.engine,
      ortProvider: o.ortProvider,
      maxBatch: o.maxBatch,
      maxWaitMs: o.maxWaitMs,
      infer: { maskSize: o.maskSize, outputSize: o.outputSize, maskFormat: o.maskFormat, maxSide: o.limits.maxSide },
    });
    const service = new StreamService(o, pool, transport);
    try {
      if (o.drift) service.checkDriftReference(o.drift.reference);
      await service.run(dir);
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  get modelVersion(): string {
    return this.pool.model.version;
  }

  private setModelMetric(): void {
    this.metrics.modelInfo.reset();
    this.metrics.modelInfo.set({ version: this.pool.model.version, precision: this.pool.model.card.precision }, 1);
  }

  private async run(dir: string): Promise<void> {
    const o = this.o;
    await this.transport.connect();
    await this.transport.ensureTopics([
      { topic: o.topics.frames, partitions: o.framePartitions },
      { topic: o.topics.segmentations, partitions: o.framePartitions },
      { topic: o.topics.dlq, partitions: 1 },
      { topic: o.topics.labelRequests, partitions: 1 },
      { topic: o.topics.feedback, partitions: 1 },
      { topic: o.topics.models, partitions: 1 },
      { topic: o.topics.events, partitions: 1 },
    ]);
    if (o.httpPort !== null) {
      const routes = { ...o.routes, ...this.feedback?.routes() };
      this.http = await startHttp({ port: o.httpPort, registry: this.metrics.registry, health: () => this.health(), routes });
      this.url = this.http.url;
      this.log.info('http', { url: this.url });
    }
    if (o.watchModels) await this.watcher.prepare(dir);
    await this.pipeline.start(this.transport);
    // Without frames the service has nothing to do: it fails. The others leave it degraded (not live, not ready).
    this.consumers.watch('frames', this.pipeline.handle!, (err) => this.emit('fatal', err));
    await this.feedback?.start(this.transport);
    if (this.feedback?.handle) this.consumers.watch('feedback', this.feedback.handle);
    if (o.watchModels) {
      await this.watcher.start(this.transport, dir);
      if (this.watcher.handle) this.consumers.watch('models', this.watcher.handle);
    }
    this.armTimer = setInterval(() => this.reportArms(), o.armReportMs);
    this.log.info('serving', { model: this.pool.model.version, engine: this.pool.model.engine, group: o.groupId, topic: o.topics.frames, workers: this.pool.workers, exactlyOnce: o.exactlyOnce });
  }

  /** Both arms' evidence while a canary serves, else null. */
  rolloutEvidence(): RolloutEvidence | null {
    const canary = this.pool.canary;
    return canary ? this.arms.evidence(this.pool.model.version, canary.version) : null;
  }

  /** The canary serving beside the champion (`<name>@<version>` and weight), or null. */
  get canary(): { version: string; weight: number } | null {
    const c = this.pool.canary;
    return c ? { version: c.version, weight: c.weight } : null;
  }

  private reportArms(): void {
    const c = this.pool.canary;
    if (!c) return;
    const record = this.arms.report(this.topics.events, this.pool.model.card.name, this.pool.model.version, c.version, c.weight);
    this.transport.send([record]).catch((err: unknown) => this.log.warn('arm report not published', { error: describeError(err) }));
  }

  /**
   * Replaces the drift reference (after a promotion: the new champion's training data is the new
   * normal). The window starts empty.
   */
  setDriftReference(reference: DriftReference): void {
    if (!this.drift) throw new ConfigError('drift detection is not enabled on this service; start it with the drift option');
    this.checkDriftReference(reference);
    this.drift.setReference(reference);
  }

  /** Throws CONFIG_INVALID when a drift reference was measured on a model of another class count than the one serving. */
  private checkDriftReference(reference: DriftReference): void {
    const classes = classCountOf(this.pool.model.card);
    if (driftClassCount(reference) !== classes) {
      throw new ConfigError(`drift reference ${reference.source} covers ${driftClassCount(reference)} classes, ${this.pool.model.version} has ${classes}; measure a reference for this model`);
    }
  }

  /** Hot-swaps to the model in `dir`; a model that fails verification is refused and the current one keeps serving. */
  swap(dir: string): Promise<boolean> {
    return this.watcher.swap(dir);
  }

  /**
   * Live while no consumer gave up; ready when also the frames consumer is joined. `consumers`
   * names each one's state, so a feedback or models consumer that stopped is seen.
   */
  health(): { live: boolean; ready: boolean; detail: Record<string, unknown> } {
    const failed = Object.keys(this.consumers.failures()).length > 0;
    return {
      live: !this.stopping && !failed,
      ready: !this.stopping && !failed && this.pipeline.consuming,
      detail: { model: this.pool.model.version, canary: this.canary, queueDepth: this.pool.queueDepth, paused: this.pipeline.isPaused, partitions: this.pipeline.assignedPartitions(), consumers: this.consumers.report() },
    };
  }

  /** Worker tf.memory() snapshots (leak checks). */
  workerMemory() {
    return this.pool.memory();
  }

  /** Graceful stop: finishes the runs in flight and commits them, then closes everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.armTimer) clearInterval(this.armTimer);
    await this.watcher.stop();
    await this.feedback?.stop();
    await this.pipeline.stop();
    await this.transport.disconnect().catch(() => {});
    await this.pool.close();
    await this.http?.close();
  }
}
