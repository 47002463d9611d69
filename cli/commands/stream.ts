import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULT_TOPIC_PREFIX, parseDriftReference } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { parseOutputSize } from '../../core/output_geometry.js';
import { DRIFT_MONITOR_DEFAULTS } from '../../core/drift.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';
import { resolveBrokers } from '../../runtime-node/transport/brokers.js';
import type { SaslOptions } from '../../runtime-node/transport/transport.js';
import { LABEL_REQUEST_DEFAULTS } from '../../runtime-node/feedback/label_requests.js';
import { ENGINES, ORT_PROVIDERS, POOL_BACKENDS, POOL_DEFAULTS, type EngineRequest, type OrtProvider } from '../../runtime-node/pool/inference_pool.js';
import { FRAME_LIMIT_DEFAULTS } from '../../runtime-node/transport/frame_validation.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { DEFAULT_FRAME_PARTITIONS, DEFAULT_GROUP, DEFAULT_MASK_FORMAT, DEFAULT_MASK_SIZE, DEFAULT_SESSION_TIMEOUT_MS } from '../../runtime-node/stream/options.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';

interface StreamFlags extends GlobalOptions {
  model: string;
  models: string;
  group: string;
  brokers?: string;
  topicsPrefix: string;
  partitions: number;
  workers?: number;
  backend: 'wasm' | 'cpu';
  engine: EngineRequest;
  ortProvider: OrtProvider;
  maxBatch: number;
  maxWaitMs: number;
  maskSize: 'model' | 'frame';
  outputSize?: string;
  maskFormat: 'png' | 'rle';
  exactlyOnce?: boolean;
  instanceId?: string;
  httpPort: number;
  sessionTimeout: number;
  maxFrameBytes: number;
  maxSide: number;
  labelStore?: string;
  labelEntropy: number;
  labelRate: number;
  feedbackStore?: string;
  driftReference?: string;
  driftWindow: number;
  driftThreshold: number;
  watch: boolean;
  ssl?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
}

const SASL_MECHANISMS: readonly SaslOptions['mechanism'][] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export function saslFrom(flags: { saslMechanism?: string; saslUsername?: string }): SaslOptions | undefined {
  if (!flags.saslMechanism) return undefined;
  const mechanism = flags.saslMechanism.toLowerCase() as SaslOptions['mechanism'];
  if (!SASL_MECHANISMS.includes(mechanism)) throw new ConfigError(`--sasl-mechanism must be plain, scram-sha-256 or scram-sha-512, got '${flags.saslMechanism}'`);
  const password = process.env.KAFKA_SASL_PASSWORD;
  if (!flags.saslUsername || !password) throw new ConfigError('SASL needs --sasl-username and the KAFKA_SASL_PASSWORD environment variable');
  return { mechanism, username: flags.saslUsername, password };
}

export function registerStream(program: Command): void {
  program
    .command('stream')
    .description('consume frames from Kafka, segment them, publish masks (and dead letters, label requests)')
    .requiredOption('--model <model>', 'model directory or registry ref; an alias (name@champion) is followed and hot-swapped')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--group <id>', 'consumer group', DEFAULT_GROUP)
    .option('--brokers <list>', 'host:port[,…] (default: KAFKA_BROKERS, then the dev broker state file)')
    .option('--topics-prefix <p>', 'topic name prefix', DEFAULT_TOPIC_PREFIX)
    .option('--partitions <n>', 'partitions of the frames topic when created', numberOption('partitions', 1, true), DEFAULT_FRAME_PARTITIONS)
    .option('--workers <n>', 'inference worker threads (default cores − 1)', numberOption('workers', 1, true))
    .option('--backend <b>', 'tfjs backend: wasm | cpu', POOL_DEFAULTS.backend)
    .option('--engine <e>', 'auto (ONNX Runtime when the model has an ONNX file) | ort | tfjs', POOL_DEFAULTS.engine)
    .option('--ort-provider <p>', 'ONNX Runtime execution provider: cpu | cuda (needs its CUDA binaries, see README)', POOL_DEFAULTS.ortProvider)
    .option('--max-batch <n>', 'frames per model call (micro-batching)', numberOption('max-batch', 1, true), POOL_DEFAULTS.maxBatch)
    .option('--max-wait-ms <ms>', 'longest wait to fill a batch', numberOption('max-wait-ms', 0), POOL_DEFAULTS.maxWaitMs)
    .option('--mask-size <s>', 'model (128×128) | frame', DEFAULT_MASK_SIZE)
    .option('--output-size <s>', 'model | input (the frame size; logits upsampled bilinearly, then argmax) | <width>x<height>; overrides --mask-size')
    .option('--mask-format <f>', 'png | rle', DEFAULT_MASK_FORMAT)
    .option('--exactly-once', 'transactional results + offsets (read_committed consumers see each result once)')
    .option('--instance-id <id>', 'stable instance name (transactional id); default the hostname')
    .option('--http-port <port>', '/metrics, /healthz, /readyz port (0 = any)', numberOption('http-port', 0, true), 9464)
    .option('--session-timeout <ms>', 'consumer session timeout', numberOption('session-timeout', 1000, true), DEFAULT_SESSION_TIMEOUT_MS)
    .option('--max-frame-bytes <n>', 'largest frame accepted', numberOption('max-frame-bytes', 1, true), FRAME_LIMIT_DEFAULTS.maxFrameBytes)
    .option('--max-side <px>', 'largest width/height accepted', numberOption('max-side', 1, true), FRAME_LIMIT_DEFAULTS.maxSide)
    .option('--label-store <dir>', 'enable uncertainty sampling: keep uncertain frames in this feedback store')
    .option('--label-entropy <fraction>', 'request a label above this fraction of the maximum entropy', numberOption('label-entropy', 0), LABEL_REQUEST_DEFAULTS.entropyFraction)
    .option('--label-rate <n>', 'at most n label requests per minute', numberOption('label-rate', 0), LABEL_REQUEST_DEFAULTS.maxPerMinute)
    .option('--feedback-store <dir>', 'ingest labels from the feedback topic (and POST /feedback when EDGESEG_FEEDBACK_TOKEN is set) into this store')
    .option('--drift-reference <file>', 'detect input/output drift against this reference (edgeseg drift-reference)')
    .option('--drift-window <frames>', 'frames per drift window', numberOption('drift-window', 10, true), DRIFT_MONITOR_DEFAULTS.window)
    .option('--drift-threshold <psi>', 'PSI above which a feature has drifted', numberOption('drift-threshold', 0), DRIFT_MONITOR_DEFAULTS.threshold)
    .option('--no-watch', 'do not follow model events or the registry alias')
    .option('--ssl', 'TLS to the brokers')
    .option('--sasl-mechanism <m>', 'plain | scram-sha-256 | scram-sha-512 (password from KAFKA_SASL_PASSWORD)')
    .option('--sasl-username <u>', 'SASL user')
    .action(async (flags: StreamFlags, cmd: Command) => {
      const log = cliLogger('stream', cmd.optsWithGlobals());
      for (const [name, value, allowed] of [['mask-size', flags.maskSize, ['model', 'frame']], ['mask-format', flags.maskFormat, ['png', 'rle']], ['backend', flags.backend, POOL_BACKENDS], ['engine', flags.engine, ENGINES], ['ort-provider', flags.ortProvider, ORT_PROVIDERS]] as const) {
        if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`--${name} must be ${allowed.join(' or ')}, got '${value}'`);
      }
      const service = await StreamService.start({
        model: flags.model,
        models: flags.models,
        brokers: resolveBrokers(flags.brokers),
        groupId: flags.group,
        instanceId: flags.instanceId,
        topicPrefix: flags.topicsPrefix,
        framePartitions: flags.partitions,
        workers: flags.workers,
        backend: flags.backend,
        engine: flags.engine,
        ortProvider: flags.ortProvider,
        maxBatch: flags.maxBatch,
        maxWaitMs: flags.maxWaitMs,
        maskSize: flags.maskSize,
        outputSize: flags.outputSize === undefined ? undefined : parseOutputSize(flags.outputSize),
        maskFormat: flags.maskFormat,
        exactlyOnce: flags.exactlyOnce,
        httpPort: flags.httpPort,
        sessionTimeoutMs: flags.sessionTimeout,
        limits: { maxFrameBytes: flags.maxFrameBytes, maxSide: flags.maxSide },
        labelRequests: flags.labelStore ? { store: flags.labelStore, entropyFraction: flags.labelEntropy, maxPerMinute: flags.labelRate } : null,
        feedback: flags.feedbackStore ? { store: flags.feedbackStore, token: process.env.EDGESEG_FEEDBACK_TOKEN } : null,
        drift: flags.driftReference ? { reference: parseDriftReference(readFileSync(flags.driftReference, 'utf8'), flags.driftReference), window: flags.driftWindow, threshold: flags.driftThreshold } : null,
        watchModels: flags.watch,
        ssl: flags.ssl,
        sasl: saslFrom(flags),
        log,
      });
      console.log(`serving ${service.modelVersion} on ${service.topics.frames} (group ${flags.group})${service.url ? `; metrics ${service.url}/metrics` : ''}`);
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          log.info('shutting down', { signal });
          void service.stop().then(resolve);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
        service.once('fatal', (err) => {
          process.exitCode = 1;
          console.error(`error: ${describeError(err)}`);
          void service.stop().then(resolve);
        });
      });
      console.log('stopped');
    });
}
