/**
 * The stream service's options: one documented interface, its defaults as named constants, and
 * `resolveStreamOptions`, which fills them in once and refuses bad values by name before anything
 * connects. Every part of the service (frame pipeline, model watcher, feedback intake) reads the
 * resolved form, so a default is written in one place.
 */
import { hostname } from 'node:os';
import { ConfigError, createLogger, topicNames, type DriftMonitorOptions, type DriftReference, type Logger, type OutputSize, type Topics } from '../../core/index.js';
import { checkOutputSize } from '../../core/output_geometry.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';
import { DEFAULT_DEAD_LETTER_LIMITS, type DeadLetterLimits } from '../transport/dead_letter.js';
import { resolvePoolSettings, type PoolSettings } from '../pool/inference_pool.js';
import { FRAME_LIMIT_DEFAULTS, type FrameLimits } from '../transport/frame_validation.js';
import type { RouteHandler } from '../http/server.js';
import type { LabelRequestOptions } from '../feedback/label_requests.js';
import type { StreamFeedbackOptions } from '../feedback/stream_intake.js';
import { DEFAULT_MAX_RESTARTS, DEFAULT_SESSION_TIMEOUT_MS, type SaslOptions, type Transport } from '../transport/transport.js';

/** Drift detection: the champion's training reference and the monitor's window. */
export type StreamDriftOptions = { reference: DriftReference } & DriftMonitorOptions;

/** The inference pool's settings the stream service takes, documented and defaulted where the pool declares them (POOL_DEFAULTS). */
export type StreamPoolSettings = Pick<PoolSettings, 'workers' | 'backend' | 'engine' | 'ortProvider' | 'maxBatch' | 'maxWaitMs'>;

/** Everything StreamService.start takes; every optional field has its default below (the pool's settings: in the pool's module). */
export interface StreamOptions extends StreamPoolSettings {
  /** Model directory or registry ref (`name`, `name@alias`, `name@version`). An alias is followed: when it moves, the service hot-swaps. */
  model: string;
  /** Registry root. @default DEFAULT_MODELS_ROOT ('models') */
  models?: string;
  /** Kafka bootstrap brokers, `host:port` (unused when `transport` is given). */
  brokers: string[];
  /** Consumer group. @default DEFAULT_GROUP ('edgeseg-stream') */
  groupId?: string;
  /** Stable name of this instance (transactional id, per-instance model-event group). @default the host name */
  instanceId?: string;
  /** Prefix of every topic name. @default DEFAULT_TOPIC_PREFIX ('edgeseg.') */
  topicPrefix?: string;
  /** Partitions of the frames and segmentations topics when the service creates them. @default DEFAULT_FRAME_PARTITIONS (6) */
  framePartitions?: number;
  /** Mask at the model's output size (`model`) or the frame's own size. @default DEFAULT_MASK_SIZE ('model') */
  maskSize?: 'model' | 'frame';
  /**
   * Mask size, overriding `maskSize`: `model`, `input` (the frame's) or `{ width, height }`; the
   * last two upsample the logits bilinearly before the argmax (smooth edges, no staircase).
   * @default maskSize's (`frame` = `input`)
   */
  outputSize?: OutputSize;
  /** Encoding of published masks. @default DEFAULT_MASK_FORMAT ('png') */
  maskFormat?: 'png' | 'rle';
  /** Frame size limits; missing fields keep theirs. @default FRAME_LIMIT_DEFAULTS (8 MiB, 4096 px) */
  limits?: Partial<FrameLimits>;
  /** Transactional outputs + offsets; read_committed consumers then see each result once. @default false */
  exactlyOnce?: boolean;
  /** Consumer session timeout of every consumer; heartbeats go every third of it. @default DEFAULT_SESSION_TIMEOUT_MS (6000 ms) */
  sessionTimeoutMs?: number;
  /** Records per committed run of a partition. @default DEFAULT_SLICE_SIZE (16) */
  sliceSize?: number;
  /** Partitions processed at once. @default 2 × workers (at least 2) */
  concurrency?: number;
  /** Pause consumption above this many queued frames, resume at half of it. @default 8 × workers */
  highWater?: number;
  /** Uncertainty sampling; null disables. @default null */
  labelRequests?: LabelRequestOptions | null;
  /**
   * Feedback in: consume `edgeseg.feedback` into this store; with `token`, also accept
   * `POST /feedback` on the HTTP port. null disables. @default null
   */
  feedback?: StreamFeedbackOptions | null;
  /** Drift detection against a training reference; reports go to `edgeseg.events`. null disables. @default null */
  drift?: StreamDriftOptions | null;
  /** Follow `edgeseg.models` events and the registry alias (and, for a registry ref, its canary rollout). @default true */
  watchModels?: boolean;
  /** During a rollout, publish a per-arm report on `edgeseg.events` this often. @default DEFAULT_ARM_REPORT_MS (10,000 ms) */
  armReportMs?: number;
  /** HTTP port for /metrics, /healthz, /readyz; null disables. @default 0 (any free port) */
  httpPort?: number | null;
  /** Extra HTTP routes (the feedback receiver of the closed loop). @default {} */
  routes?: Record<string, RouteHandler>;
  /** Size bounds of dead letters (a value over the bound is cut, or kept in `keepDir` and referenced). @default DEFAULT_DEAD_LETTER_LIMITS (512 KiB, no keepDir) */
  deadLetters?: DeadLetterLimits;
  /** Consumer restarts after broker loss before the service fails. @default DEFAULT_MAX_RESTARTS (5) */
  maxRestarts?: number;
  /** TLS to the brokers. @default false */
  ssl?: boolean;
  /** SASL credentials for the brokers. @default none */
  sasl?: SaslOptions;
  /** @default a logger named 'stream' */
  log?: Logger;
  /** Replace the Kafka transport (tests of the service logic with another broker client). @default a KafkaTransport on `brokers` */
  transport?: Transport;
}

/** Consumer group of the stream service unless configured. */
export const DEFAULT_GROUP = 'edgeseg-stream';
/** Partitions of the frames and segmentations topics when the service creates them. */
export const DEFAULT_FRAME_PARTITIONS = 6;
/** Records per committed run of a partition. */
export const DEFAULT_SLICE_SIZE = 16;
/** Size of published masks unless configured. */
export const DEFAULT_MASK_SIZE: NonNullable<StreamOptions['maskSize']> = 'model';
/** Encoding of published masks unless configured. */
export const DEFAULT_MASK_FORMAT: NonNullable<StreamOptions['maskFormat']> = 'png';
/** The transport's consumer defaults, which the service keeps. */
export { DEFAULT_MAX_RESTARTS, DEFAULT_SESSION_TIMEOUT_MS };
/** How often a stream service reports its rollout's arms on `edgeseg.events`. */
export const DEFAULT_ARM_REPORT_MS = 10_000;
/** How often the frames consumer's backpressure looks at the inference queue. */
export const BACKPRESSURE_INTERVAL_MS = 25;

/** StreamOptions with every default filled in; what the service's parts read. */
export interface ResolvedStreamOptions
  extends Required<Omit<StreamOptions, 'topicPrefix' | 'limits' | 'deadLetters' | 'ssl' | 'sasl' | 'transport' | 'outputSize'>>,
    Pick<StreamOptions, 'ssl' | 'sasl' | 'transport'> {
  topics: Topics;
  limits: FrameLimits;
  deadLetters: Required<DeadLetterLimits>;
  /** Set only when asked for: maskSize decides otherwise. */
  outputSize: OutputSize | undefined;
  /** A third of the session timeout, as kafkajs recommends. */
  heartbeatIntervalMs: number;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new ConfigError(`stream option '${name}' must be an integer ≥ 1, got ${value}`);
  return value;
}

/**
 * Fills in every default of `o` and checks it: counts are integers ≥ 1, a model and (without a
 * transport) brokers are given. Throws a ConfigError naming the option.
 */
export function resolveStreamOptions(o: StreamOptions): ResolvedStreamOptions {
  if (typeof o.model !== 'string' || o.model === '') throw new ConfigError("stream option 'model' must name a model directory or registry ref");
  if (!o.transport && !(Array.isArray(o.brokers) && o.brokers.length > 0)) throw new ConfigError("stream option 'brokers' must list at least one host:port (or pass a transport)");
  if (o.workers !== undefined) positiveInteger('workers', o.workers);
  const pool = resolvePoolSettings({ workers: o.workers, backend: o.backend, engine: o.engine, ortProvider: o.ortProvider, maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs });
  const { workers } = pool;
  const sessionTimeoutMs = o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  if (!(Number.isFinite(sessionTimeoutMs) && sessionTimeoutMs > 0)) throw new ConfigError(`stream option 'sessionTimeoutMs' must be a positive number of milliseconds, got ${sessionTimeoutMs}`);
  const limits = { ...FRAME_LIMIT_DEFAULTS, ...o.limits };
  positiveInteger('limits.maxFrameBytes', limits.maxFrameBytes);
  positiveInteger('limits.maxSide', limits.maxSide);
  if (o.deadLetters?.maxValueBytes !== undefined) positiveInteger('deadLetters.maxValueBytes', o.deadLetters.maxValueBytes);
  if (o.httpPort != null && !(Number.isInteger(o.httpPort) && o.httpPort >= 0 && o.httpPort < 65536)) throw new ConfigError(`stream option 'httpPort' must be a port 0–65535 or null, got ${o.httpPort}`);
  return {
    ...o,
    models: o.models ?? DEFAULT_MODELS_ROOT,
    groupId: o.groupId ?? DEFAULT_GROUP,
    instanceId: o.instanceId ?? hostname(),
    topics: topicNames(o.topicPrefix),
    framePartitions: positiveInteger('framePartitions', o.framePartitions ?? DEFAULT_FRAME_PARTITIONS),
    workers,
    backend: pool.backend,
    engine: pool.engine,
    ortProvider: pool.ortProvider,
    maxBatch: pool.maxBatch,
    maxWaitMs: pool.maxWaitMs,
    maskSize: o.maskSize ?? DEFAULT_MASK_SIZE,
    outputSize: o.outputSize === undefined ? undefined : checkOutputSize(o.outputSize, 'outputSize'),
    maskFormat: o.maskFormat ?? DEFAULT_MASK_FORMAT,
    limits,
    deadLetters: { ...DEFAULT_DEAD_LETTER_LIMITS, ...o.deadLetters },
    exactlyOnce: o.exactlyOnce ?? false,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.round(sessionTimeoutMs / 3),
    sliceSize: positiveInteger('sliceSize', o.sliceSize ?? DEFAULT_SLICE_SIZE),
    concurrency: positiveInteger('concurrency', o.concurrency ?? Math.max(2, 2 * workers)),
    highWater: positiveInteger('highWater', o.highWater ?? 8 * workers),
    labelRequests: o.labelRequests ?? null,
    feedback: o.feedback ?? null,
    drift: o.drift ?? null,
    watchModels: o.watchModels ?? true,
    armReportMs: positiveInteger('armReportMs', o.armReportMs ?? DEFAULT_ARM_REPORT_MS),
    httpPort: o.httpPort === null ? null : (o.httpPort ?? 0),
    routes: o.routes ?? {},
    maxRestarts: o.maxRestarts ?? DEFAULT_MAX_RESTARTS,
    log: o.log ?? createLogger('stream'),
  };
}
