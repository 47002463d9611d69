/**
 * The closed loop wired in one place, for `edgeseg loop` and `edgeseg loop --demo`: the stream
 * service serves `<name>@champion` with label requests, feedback intake and drift detection on
 * one feedback store; the retraining controller watches its triggers (drift reports from the
 * service among them), retrains, gates, promotes and announces on the models topic, which every
 * stream service hot-swaps on. The drift reference is measured from the champion on its lineage's
 * base data and measured again at every promotion (the new champion's training data is the new
 * normal), unless a fixed reference is given. With `canary` rules, an accepted challenger serves
 * a slice of sensors as a canary beside the champion and the canary judge promotes or rolls it
 * back on the service's live per-arm evidence.
 */
import { TeacherLabeler } from './teacher_labeler.js';
import type { DriftMonitorOptions, DriftReference, Logger, Topics } from '../../core/index.js';
import { createLogger, topicNames } from '../../core/index.js';
import { championDir, trainedRoot } from '../../core/node/registry.js';
import { measureDriftReference } from './drift_reference.js';
import { KafkaTransport } from '../transport/kafka_transport.js';
import type { LabelRequestOptions } from '../feedback/label_requests.js';
import type { StreamFeedbackOptions } from '../feedback/stream_intake.js';
import type { StreamOptions } from '../stream/options.js';
import { StreamService } from '../stream/service.js';
import type { Transport } from '../transport/transport.js';
import { CanaryJudge, type CanaryRules } from './canary.js';
import { RetrainLoop, type LoopOptions, type LoopTriggers } from './controller.js';
import { baseDataOf } from './lineage.js';

/** Stream service settings beyond what the loop sets itself (model, registry, store, reference). */
export type ClosedLoopStreamOptions = Partial<Omit<StreamOptions, 'model' | 'models' | 'brokers' | 'topicPrefix' | 'labelRequests' | 'feedback' | 'drift'>> & {
  /** Uncertainty sampling thresholds. @default LabelRequester's */
  labelRequests?: Omit<LabelRequestOptions, 'store'>;
  /** `POST /feedback` token and body limit. @default no HTTP feedback */
  feedback?: Omit<StreamFeedbackOptions, 'store'>;
  /** Drift window and threshold. @default DriftMonitor's */
  drift?: DriftMonitorOptions;
};

/** What startClosedLoop serves and when it retrains. */
export interface ClosedLoopOptions {
  /** Model name in the registry; `<name>@champion` is served. */
  name: string;
  /** Registry root. @default 'models' */
  models?: string;
  /** Feedback store directory: label requests keep frames there, labels land there. */
  feedback: string;
  brokers: string[];
  /** Prefix of every topic name. @default 'edgeseg.' */
  topicPrefix?: string;
  /** A fixed drift reference (drift reports then count whatever model serves). @default measured from the champion, re-measured at each promotion */
  driftReference?: DriftReference;
  /** @default StreamService's defaults */
  stream?: ClosedLoopStreamOptions;
  /** @default RetrainLoop's (50 labels, drift on) */
  triggers?: Omit<LoopTriggers, 'driftReference'>;
  /** Passed to each retrain. @default retrain's */
  retrain?: LoopOptions['retrain'];
  /** Trigger checks (and canary checks). @default 2000 (ms) */
  intervalMs?: number;
  /** Canary rollout of accepted challengers, judged on live evidence; null promotes them straight away. @default null */
  canary?: CanaryRules | null;
  /** Client id of the loop's own Kafka producer (announcements). @default 'edgeseg-loop' */
  clientId?: string;
  /**
   * A teacher model that answers label requests instead of people (`--labeller teacher:<ref>`):
   * its masks land in the feedback store named as `teacher:<name>@<version>`. @default null (people label)
   */
  teacher?: { model: string; classes?: string } | null;
  log?: Logger;
}

/** A running closed loop: its parts, for events and for the demo's own producers. */
export interface ClosedLoop {
  service: StreamService;
  loop: RetrainLoop;
  /** The canary judge (null without canary rules). */
  judge: CanaryJudge | null;
  /** The loop's connected transport (promotions and decisions are published through it). */
  transport: Transport;
  topics: Topics;
  /** The drift reference the service started with. */
  reference: DriftReference;
  /** The teacher labeller, when one answers label requests. */
  labeler: TeacherLabeler | null;
  /** Stops the controller (waiting for a retrain in progress), the service, then the transport. */
  stop(): Promise<void>;
}

/** Starts the stream service and the retraining controller on one registry and feedback store. */
export async function startClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoop> {
  const log = o.log ?? createLogger('loop');
  const models = o.models ?? 'models';
  const topics = topicNames(o.topicPrefix);
  const fixed = o.driftReference ?? null;
  let reference: DriftReference;
  if (fixed) {
    reference = fixed;
  } else {
    const champion = championDir(models, o.name);
    reference = await measureDriftReference(champion, baseDataOf(trainedRoot(models, o.name, champion).card), { log });
  }
  const transport = new KafkaTransport({ brokers: o.brokers, clientId: o.clientId ?? 'edgeseg-loop', log: log.child('kafka') });
  await transport.connect();
  let service: StreamService;
  try {
    const { labelRequests, feedback, drift, ...stream } = o.stream ?? {};
    service = await StreamService.start({
      log: log.child('stream'),
      ...stream,
      model: `${o.name}@champion`,
      models,
      brokers: o.brokers,
      topicPrefix: o.topicPrefix,
      labelRequests: { ...labelRequests, store: o.feedback },
      feedback: { ...feedback, store: o.feedback },
      drift: { ...drift, reference },
    });
  } catch (err) {
    await transport.disconnect().catch(() => {});
    throw err;
  }
  const loop = new RetrainLoop({
    name: o.name,
    models,
    feedback: o.feedback,
    triggers: { ...o.triggers, driftReference: fixed ? 'any' : 'champion' },
    retrain: o.retrain,
    publisher: { transport, topics },
    intervalMs: o.intervalMs,
    canary: o.canary ?? null,
    log,
  });
  const judge = o.canary ? new CanaryJudge({ models, name: o.name, evidence: () => service.rolloutEvidence(), rules: o.canary, publisher: { transport, topics }, intervalMs: Math.min(o.intervalMs ?? 2000, 1000), log: log.child('canary') }) : null;
  service.on('drift', (report) => loop.noteDrift(report));
  if (!fixed) {
    // The new champion's training data is the new normal: measured when it becomes the champion.
    const refresh = (dir: string, data: string) =>
      void measureDriftReference(dir, data, { log })
        .then((ref) => service.setDriftReference(ref))
        .catch((err: Error) => log.warn('drift reference not refreshed', { error: err.message }));
    const onTrial = new Map<string, { dir: string; data: string }>();
    loop.on('decision', (d) => {
      if (!d.accepted) return;
      if (d.canary) onTrial.set(d.version, { dir: d.result.dir, data: d.result.report.training!.data });
      else refresh(d.result.dir, d.result.report.training!.data);
    });
    judge?.on('end', (end) => {
      const trial = onTrial.get(end.version);
      onTrial.delete(end.version);
      if (end.outcome === 'promoted' && trial) refresh(trial.dir, trial.data);
    });
  }
  let labeler: TeacherLabeler | null = null;
  if (o.teacher) {
    try {
      labeler = await TeacherLabeler.create(transport, { teacher: o.teacher.model, classes: o.teacher.classes, models: models, topics, groupId: `${topics.labelRequests}.teacher`, log: log.child('teacher') });
      await labeler.start();
    } catch (err) {
      await labeler?.stop().catch(() => {});
      await service.stop();
      await transport.disconnect().catch(() => {});
      throw err;
    }
  }
  loop.start();
  judge?.start();
  return {
    service,
    loop,
    judge,
    transport,
    topics,
    reference,
    labeler,
    stop: async () => {
      await labeler?.stop();
      await judge?.stop();
      await loop.stop();
      await service.stop();
      await transport.disconnect().catch(() => {});
    },
  };
}
