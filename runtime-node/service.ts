/**
 * The streaming segmentation service. A consumer group reads `edgeseg.frames`; each partition's
 * records are processed in runs (slices): frames are validated, segmented in the worker pool
 * concurrently, and their outputs — results, dead-letter records, label requests — are published
 * in offset order before the partition's offset moves past them (at-least-once; one transaction
 * in exactly-once mode). Order per sensor is kept because a sensor's frames share a partition
 * and a partition's runs are committed in sequence.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SASLOptions } from 'kafkajs';
import {
  createLogger,
  describeError,
  DRIFT_EVENT_SCHEMA,
  DriftMonitor,
  type DriftMonitorOptions,
  type DriftReference,
  type DriftReport,
  FrameError,
  HEADER,
  LABEL_REQUEST_SCHEMA,
  parseModelEvent,
  SEGMENTATION_SCHEMA,
  topicNames,
  type Logger,
  type SegmentationMessage,
  type Topics,
} from '../core/index.js';
import { resolveModelRef, DEFAULT_MODELS_ROOT } from '../core/node/registry.js';
import { InferenceEngine, type EngineChoice, type OrtProvider } from './engine/engine.js';
import { FRAME_LIMIT_DEFAULTS, validateFrame, type FrameLimits } from './frame.js';
import { startHttp, type RouteHandler } from './http.js';
import { KafkaTransport } from './kafka_transport.js';
import { FeedbackIngest, feedbackRoutes, ingestFeedbackRecords, type FeedbackIngestOptions } from './feedback.js';
import { LabelRequester, type LabelRequestOptions } from './label_requests.js';
import { createMetrics, type StreamMetrics } from './metrics.js';
import type { ConsumerHandle, InRecord, OutRecord, PartitionBatch, Transport } from './transport.js';

export interface StreamOptions {
  /** Model directory or registry ref (`name`, `name@alias`, `name@version`). An alias is followed: when it moves, the service hot-swaps. */
  model: string;
  /** Registry root. @default 'models' */
  models?: string;
  brokers: string[];
  /** Consumer group. @default 'edgeseg-stream' */
  groupId?: string;
  /** Stable name of this instance (transactional id, per-instance model-event group). @default '<hostname>' */
  instanceId?: string;
  /** @default 'edgeseg.' */
  topicPrefix?: string;
  /** Partitions of the frames topic when the service creates it. @default 6 */
  framePartitions?: number;
  /** Inference worker threads. @default cores − 1 (at least 1) */
  workers?: number;
  /** @default 'wasm' */
  backend?: 'wasm' | 'cpu';
  /** Model engine: ONNX Runtime when the version has an ONNX file (`auto`), or forced. @default 'auto' */
  engine?: EngineChoice;
  /** ONNX Runtime execution provider (`cuda` needs its CUDA binaries installed). @default 'cpu' */
  ortProvider?: OrtProvider;
  /** Micro-batching: frames per model call and the longest wait to fill one. @default 1 and 0 ms */
  maxBatch?: number;
  maxWaitMs?: number;
  /** Mask at 128×128 (`model`) or the frame's own size. @default 'model' */
  maskSize?: 'model' | 'frame';
  /** @default 'png' */
  maskFormat?: 'png' | 'rle';
  limits?: Partial<FrameLimits>;
  /** Transactional outputs + offsets; read_committed consumers then see each result once. @default false */
  exactlyOnce?: boolean;
  /** @default 6000 (ms) */
  sessionTimeoutMs?: number;
  /** Records per committed run of a partition. @default 16 */
  sliceSize?: number;
  /** Partitions processed at once. @default 2 × workers */
  concurrency?: number;
  /** Pause consumption above this many queued frames, resume below half of it. @default 8 × workers */
  highWater?: number;
  /** Uncertainty sampling; null disables. @default null */
  labelRequests?: LabelRequestOptions | null;
  /**
   * Feedback in: consume `edgeseg.feedback` into this store; with `token`, also accept
   * `POST /feedback` on the HTTP port. null disables. @default null
   */
  feedback?: (FeedbackIngestOptions & { token?: string; maxBodyBytes?: number }) | null;
  /** Drift detection against a training reference; reports go to `edgeseg.events`. null disables. @default null */
  drift?: ({ reference: DriftReference } & DriftMonitorOptions) | null;
  /** Follow `edgeseg.models` events and the registry alias. @default true */
  watchModels?: boolean;
  /** HTTP port for /metrics, /healthz, /readyz; null disables. @default 0 (any free port) */
  httpPort?: number | null;
  /** Extra HTTP routes (the feedback receiver of the closed loop). */
  routes?: Record<string, RouteHandler>;
  /** Consumer restarts after broker loss before the service fails. @default 5 */
  maxRestarts?: number;
  ssl?: boolean;
  sasl?: SASLOptions;
  log?: Logger;
  /** Replace the Kafka transport (tests of the service logic with another broker client). */
  transport?: Transport;
}

export interface StreamEvents {
  swap: [{ from: string; to: string }];
  swapRefused: [{ dir: string; error: string }];
  drift: [DriftReport];
  feedback: [{ version: number; samples: number; added: number }];
  fatal: [Error];
}

export const DEFAULT_GROUP = 'edgeseg-stream';

export class StreamService extends EventEmitter<StreamEvents> {
  readonly topics: Topics;
  readonly metrics: StreamMetrics;
  url: string | null = null;
  private readonly log: Logger;
  private readonly limits: FrameLimits;
  private readonly labels: LabelRequester | null;
  private readonly ingest: FeedbackIngest | null;
  private driftMonitor: DriftMonitor | null;
  private driftActive = false;
  private consumer: ConsumerHandle | null = null;
  private feedbackConsumer: ConsumerHandle | null = null;
  private modelConsumer: ConsumerHandle | null = null;
  private http: Awaited<ReturnType<typeof startHttp>> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private paused = false;
  private stopping = false;
  private swapChain: Promise<unknown> = Promise.resolve();
  private aliasDir: string | null = null;

  private constructor(
    private readonly o: StreamOptions,
    private readonly engine: InferenceEngine,
    private readonly transport: Transport,
  ) {
    super();
    this.log = o.log ?? createLogger('stream');
    this.topics = topicNames(o.topicPrefix);
    this.limits = { ...FRAME_LIMIT_DEFAULTS, ...o.limits };
    this.metrics = createMetrics();
    this.labels = o.labelRequests ? new LabelRequester(o.labelRequests) : null;
    this.ingest = o.feedback ? new FeedbackIngest(o.feedback) : null;
    this.driftMonitor = o.drift ? new DriftMonitor(o.drift.reference, o.drift) : null;
    this.setModelMetric();
  }

  static async start(o: StreamOptions): Promise<StreamService> {
    const log = o.log ?? createLogger('stream');
    const root = o.models ?? DEFAULT_MODELS_ROOT;
    const dir = resolveModelRef(o.model, root);
    const limits = { ...FRAME_LIMIT_DEFAULTS, ...o.limits };
    const engine = await InferenceEngine.start(dir, {
      workers: o.workers,
      backend: o.backend,
      engine: o.engine,
      ortProvider: o.ortProvider,
      maxBatch: o.maxBatch,
      maxWaitMs: o.maxWaitMs,
      infer: { maskSize: o.maskSize ?? 'model', maskFormat: o.maskFormat ?? 'png', maxSide: limits.maxSide },
    });
    const groupId = o.groupId ?? DEFAULT_GROUP;
    const instanceId = o.instanceId ?? hostname();
    const transport =
      o.transport ??
      new KafkaTransport({ brokers: o.brokers, ssl: o.ssl, sasl: o.sasl, clientId: `edgeseg-${instanceId}`, transactionalId: o.exactlyOnce ? `${groupId}.${instanceId}` : undefined, log: log.child('kafka') });
    const service = new StreamService({ ...o, groupId, instanceId, log }, engine, transport);
    try {
      await service.run(dir);
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  get modelVersion(): string {
    return this.engine.model.version;
  }

  private setModelMetric(): void {
    this.metrics.modelInfo.reset();
    this.metrics.modelInfo.set({ version: this.engine.model.version, precision: this.engine.model.card.precision }, 1);
  }

  private async run(dir: string): Promise<void> {
    const o = this.o;
    await this.transport.connect();
    await this.transport.ensureTopics([
      { topic: this.topics.frames, partitions: o.framePartitions ?? 6 },
      { topic: this.topics.segmentations, partitions: o.framePartitions ?? 6 },
      { topic: this.topics.dlq, partitions: 1 },
      { topic: this.topics.labelRequests, partitions: 1 },
      { topic: this.topics.feedback, partitions: 1 },
      { topic: this.topics.models, partitions: 1 },
      { topic: this.topics.events, partitions: 1 },
    ]);
    if (o.httpPort !== null) {
      const routes = { ...o.routes };
      if (this.ingest && o.feedback?.token) {
        const http = feedbackRoutes(this.ingest, {
          token: o.feedback.token,
          maxBodyBytes: o.feedback.maxBodyBytes,
          log: this.log.child('feedback'),
          onLabel: (v) => this.labelled('http', v),
        });
        const post = http['POST /feedback'];
        routes['OPTIONS /feedback'] = http['OPTIONS /feedback'];
        routes['POST /feedback'] = async (req, res) => {
          await post(req, res);
          if (res.statusCode >= 400) this.metrics.feedback.inc({ channel: 'http', result: String(res.statusCode) });
        };
      }
      this.http = await startHttp({ port: o.httpPort ?? 0, registry: this.metrics.registry, health: () => this.health(), routes });
      this.url = this.http.url;
      this.log.info('http', { url: this.url });
    }
    const workers = this.engine.workers;
    this.consumer = await this.transport.consume(
      {
        groupId: o.groupId!,
        topics: [this.topics.frames],
        sessionTimeoutMs: o.sessionTimeoutMs ?? 6000,
        heartbeatIntervalMs: Math.round((o.sessionTimeoutMs ?? 6000) / 3),
        concurrency: o.concurrency ?? Math.max(2, 2 * workers),
        exactlyOnce: o.exactlyOnce,
        maxRestarts: o.maxRestarts,
      },
      (batch) => this.handleBatch(batch),
    );
    void this.consumer.failed.then((err) => {
      if (this.stopping) return;
      this.log.error('consumer failed', { error: describeError(err) });
      this.emit('fatal', err);
    });
    if (this.ingest) await this.consumeFeedback(this.ingest);
    const high = o.highWater ?? 8 * workers;
    this.timers.push(setInterval(() => this.backpressure(high), 25));
    if (o.watchModels ?? true) await this.watchModels(dir);
    this.log.info('serving', { model: this.engine.model.version, engine: this.engine.model.engine, group: o.groupId, topic: this.topics.frames, workers, exactlyOnce: Boolean(o.exactlyOnce) });
  }

  private labelled(channel: 'http' | 'kafka', v: { version: number; samples: unknown[]; added: number }): void {
    this.metrics.feedback.inc({ channel, result: 'stored' }, v.added);
    this.emit('feedback', { version: v.version, samples: v.samples.length, added: v.added });
  }

  private async consumeFeedback(ingest: FeedbackIngest): Promise<void> {
    this.feedbackConsumer = await this.transport.consume(
      { groupId: `${this.o.groupId}.feedback`, topics: [this.topics.feedback], sessionTimeoutMs: this.o.sessionTimeoutMs ?? 6000, maxRestarts: this.o.maxRestarts },
      async (batch) => {
        const { version, deadLetters } = await ingestFeedbackRecords(ingest, batch.records, this.topics.dlq, this.log.child('feedback'));
        for (const d of deadLetters) this.metrics.feedback.inc({ channel: 'kafka', result: d.headers![HEADER.errorCode] });
        await batch.commit((BigInt(batch.records[batch.records.length - 1].offset) + 1n).toString(), deadLetters);
        if (version) this.labelled('kafka', version);
      },
    );
  }

  private observeDrift(stats: { channelMeans: number[]; brightness: number; classCoverage: number[]; meanConfidence: number }, modelVersion: string): OutRecord[] {
    const report = this.driftMonitor!.add(stats, modelVersion);
    if (!report) return [];
    for (const [feature, value] of Object.entries(report.psi)) this.metrics.driftPsi.set({ feature }, value);
    this.metrics.drift.set(report.drift ? 1 : 0);
    const changed = report.drift !== this.driftActive;
    this.driftActive = report.drift;
    if (!report.drift) return [];
    this.emit('drift', report);
    if (changed) this.log.warn('input drift', { drifted: report.drifted, psi: report.drifted.map((f) => report.psi[f].toFixed(3)).join(', ') });
    return [{ topic: this.topics.events, key: this.engine.model.card.name, value: JSON.stringify(report), headers: { [HEADER.schema]: DRIFT_EVENT_SCHEMA } }];
  }

  /**
   * Replaces the drift reference (after a promotion: the new champion's training data is the new
   * normal). The window starts empty.
   */
  setDriftReference(reference: DriftReference): void {
    if (!this.o.drift) throw new Error('drift detection is not enabled on this service');
    this.driftMonitor = new DriftMonitor(reference, this.o.drift);
    this.driftActive = false;
    this.metrics.drift.set(0);
  }

  private backpressure(high: number): void {
    const depth = this.engine.queueDepth;
    this.metrics.queueDepth.set(depth);
    if (!this.consumer) return;
    if (!this.paused && depth > high) {
      this.paused = true;
      this.consumer.pause();
      this.metrics.paused.set(1);
    } else if (this.paused && depth <= high / 2) {
      this.paused = false;
      this.consumer.resume();
      this.metrics.paused.set(0);
    }
  }

  private async handleBatch(batch: PartitionBatch): Promise<void> {
    const slice = this.o.sliceSize ?? 16;
    this.metrics.consumerLag.set({ partition: String(batch.partition) }, batch.lagAfter + batch.records.length);
    for (let i = 0; i < batch.records.length; i += slice) {
      if (!batch.isActive()) return;
      const run = batch.records.slice(i, i + slice);
      // Heartbeats keep the group membership alive however long inference takes (kafkajs #375, #1527).
      const beat = setInterval(() => void batch.heartbeat().catch(() => {}), 1000);
      let outputs: OutRecord[][];
      try {
        outputs = await Promise.all(run.map((r) => this.process(r)));
      } finally {
        clearInterval(beat);
      }
      await batch.commit((BigInt(run[run.length - 1].offset) + 1n).toString(), outputs.flat());
      this.metrics.batchSize.observe(run.length);
      this.metrics.consumerLag.set({ partition: String(batch.partition) }, batch.lagAfter + batch.records.length - i - run.length);
    }
  }

  private deadLetter(r: InRecord, code: string, message: string): OutRecord {
    this.metrics.dlq.inc({ code });
    this.log.warn('dead-lettered frame', { partition: r.partition, offset: r.offset, code, message });
    return {
      topic: this.topics.dlq,
      key: r.key,
      value: r.value ?? Buffer.alloc(0),
      headers: {
        ...r.headers,
        [HEADER.errorCode]: code,
        [HEADER.errorMessage]: message,
        [HEADER.sourceTopic]: r.topic,
        [HEADER.sourcePartition]: String(r.partition),
        [HEADER.sourceOffset]: r.offset,
      },
    };
  }

  private async process(r: InRecord): Promise<OutRecord[]> {
    this.metrics.framesIn.inc();
    let frame;
    try {
      frame = validateFrame(r, this.limits);
    } catch (err) {
      if (err instanceof FrameError) return [this.deadLetter(r, err.code, err.message)];
      throw err;
    }
    const outcome = await this.engine.infer({ bytes: frame.bytes, contentType: frame.contentType, width: frame.width, height: frame.height });
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
    this.metrics.framesOut.inc();
    this.metrics.inferenceSeconds.observe(outcome.inferenceMs / 1000);
    if (Number.isFinite(latencyMs)) this.metrics.endToEndSeconds.observe(latencyMs / 1000);
    const out: OutRecord[] = [
      { topic: this.topics.segmentations, key: frame.sensorId, value: JSON.stringify(message), headers: { [HEADER.schema]: SEGMENTATION_SCHEMA, [HEADER.frameId]: frame.frameId } },
    ];
    if (this.driftMonitor) out.push(...this.observeDrift({ ...outcome.input, classCoverage: outcome.classCoverage, meanConfidence: outcome.meanConfidence }, outcome.modelVersion));
    const request = this.labels?.consider(frame, outcome, outcome.modelVersion);
    if (request) {
      this.metrics.labelRequests.inc();
      out.push({ topic: this.topics.labelRequests, key: frame.sensorId, value: JSON.stringify(request), headers: { [HEADER.schema]: LABEL_REQUEST_SCHEMA, [HEADER.frameId]: frame.frameId } });
    }
    return out;
  }

  /** Hot-swaps to the model in `dir`; a model that fails verification is refused and the current one keeps serving. */
  swap(dir: string): Promise<boolean> {
    const run = this.swapChain.then(async () => {
      const from = this.engine.model.version;
      if (this.engine.model.dir === dir) return true;
      try {
        await this.engine.swap(dir);
      } catch (err) {
        this.metrics.swaps.inc({ result: 'refused' });
        this.log.error('model refused; the current one keeps serving', { dir, error: describeError(err), serving: from });
        this.emit('swapRefused', { dir, error: describeError(err) });
        return false;
      }
      this.metrics.swaps.inc({ result: 'ok' });
      this.setModelMetric();
      this.driftMonitor?.reset();
      this.log.info('model swapped', { from, to: this.engine.model.version });
      this.emit('swap', { from, to: this.engine.model.version });
      return true;
    });
    this.swapChain = run.catch(() => {});
    return run;
  }

  private async watchModels(dir: string): Promise<void> {
    const root = this.o.models ?? DEFAULT_MODELS_ROOT;
    // A registry ref (not a directory) is followed: when its alias moves, swap.
    if (resolveModelRef(this.o.model, root) === dir && !existsSync(join(this.o.model, 'card.json'))) {
      this.aliasDir = dir;
      this.timers.push(
        setInterval(() => {
          let now: string;
          try {
            now = resolveModelRef(this.o.model, root);
          } catch {
            return;
          }
          if (now !== this.aliasDir) {
            this.aliasDir = now;
            void this.swap(now);
          }
        }, 1000),
      );
    }
    this.modelConsumer = await this.transport.consume(
      { groupId: `${this.o.groupId}.models.${this.o.instanceId}`, topics: [this.topics.models], fromBeginning: false, sessionTimeoutMs: this.o.sessionTimeoutMs ?? 6000, maxRestarts: this.o.maxRestarts },
      async (batch) => {
        for (const r of batch.records) {
          try {
            const event = parseModelEvent(r.value?.toString() ?? '');
            if (event.name !== this.engine.model.card.name) continue;
            const sums = join(event.path, 'SHA256SUMS');
            const sha = existsSync(sums) ? createHash('sha256').update(readFileSync(sums)).digest('hex') : '';
            if (sha !== event.sha256) {
              this.metrics.swaps.inc({ result: 'refused' });
              this.log.error('model event refused: SHA256SUMS does not match the event', { path: event.path });
              this.emit('swapRefused', { dir: event.path, error: 'SHA256SUMS does not match the model event' });
              continue;
            }
            await this.swap(event.path);
          } catch (err) {
            this.log.warn('ignored a malformed model event', { offset: r.offset, error: describeError(err) });
          }
        }
        await batch.commit((BigInt(batch.records[batch.records.length - 1].offset) + 1n).toString(), []);
      },
    );
  }

  health(): { live: boolean; ready: boolean; detail: Record<string, unknown> } {
    const ready = !this.stopping && this.consumer !== null;
    return {
      live: !this.stopping,
      ready,
      detail: { model: this.engine.model.version, queueDepth: this.engine.queueDepth, paused: this.paused, partitions: this.consumer?.assignedPartitions() ?? 0 },
    };
  }

  /** Worker tf.memory() snapshots (leak checks). */
  workerMemory() {
    return this.engine.memory();
  }

  /** Graceful stop: finishes the runs in flight and commits them, then closes everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.paused) this.consumer?.resume();
    await this.modelConsumer?.stop().catch(() => {});
    await this.feedbackConsumer?.stop().catch(() => {});
    await this.consumer?.stop().catch(() => {});
    await this.swapChain;
    await this.transport.disconnect().catch(() => {});
    await this.engine.close();
    await this.http?.close();
  }
}

/** sha256 of a model directory's SHA256SUMS: the identity carried by `edgeseg.models` events. */
export function modelDigest(dir: string): string {
  return createHash('sha256').update(readFileSync(join(dir, 'SHA256SUMS'))).digest('hex');
}

