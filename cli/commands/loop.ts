import { readFileSync } from 'node:fs';
import { DEFAULT_TEACHER_CLASSES, teacherRefOf } from '../../runtime-node/loop/teacher_labeler.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, parseDriftReference, DEFAULT_TOPIC_PREFIX } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { resolveBrokers } from '../../runtime-node/transport/brokers.js';
import { readState, startBroker, stopBroker } from '../../tools/dev_broker.js';
import { startClosedLoop } from '../../runtime-node/loop/closed_loop.js';
import type { CanaryRules } from '../../runtime-node/loop/canary.js';
import { DEMO_CANARY, runLoopDemo } from '../../tools/loop_demo.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { gateOptions, retrainSettings } from './retrain.js';
import { trainProgress } from '../train_progress.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface LoopFlags extends GlobalOptions {
  demo?: boolean;
  labeller: string;
  teacherClasses: string;
  workdir: string;
  name?: string;
  models: string;
  feedback: string;
  brokers?: string;
  topicsPrefix: string;
  labels: number;
  every?: number;
  drift: boolean;
  driftReference?: string;
  workers?: number;
  steps: number;
  batch: number;
  lr: number;
  precision?: 'fp32';
  maxConvertDrop: number;
  minMiou: number;
  maxRegression: number;
  maxFeedbackRegression: number;
  shadow: number;
  canary: boolean;
  canaryWeight: number;
  canaryLabels: number;
  canaryFrames: number;
  canaryLatencyFactor: number;
}

/** The canary rules of the flags (null with --no-canary). */
function canaryRules(flags: LoopFlags): CanaryRules | null {
  if (!flags.canary) return null;
  return { weight: flags.canaryWeight, minLabels: flags.canaryLabels, minFrames: flags.canaryFrames, latencyFactor: flags.canaryLatencyFactor, maxRegression: flags.maxFeedbackRegression };
}

const pts = (x: number) => `${(100 * x).toFixed(2)}%`;

/** `loop --demo`; `steps` is --steps when given (else the demo's own default). */
async function demo(flags: LoopFlags, log: ReturnType<typeof cliLogger>, steps: number | undefined): Promise<void> {
  let own: Awaited<ReturnType<typeof startBroker>> | null = null;
  let brokers: string[];
  try {
    brokers = resolveBrokers(flags.brokers ?? process.env.KAFKA_BROKERS ?? readState()?.brokers);
  } catch {
    console.log('no Kafka broker running: starting one for the demo (Apache Kafka from Maven Central, KRaft, 127.0.0.1)');
    own = await startBroker({ recordState: false, dataDir: join(tmpdir(), `edgeseg-loop-kafka-${process.pid}`) });
    brokers = own.brokers.split(',');
  }
  try {
    const started = Date.now();
    const r = await runLoopDemo({ brokers, workdir: flags.workdir, labels: flags.labels, retrainSteps: steps, canary: flags.canary ? DEMO_CANARY : null, log, onTrainEvent: trainProgress() });
    console.log('');
    console.log(`champion before: ${r.name}@${r.champion.version}  shifted mIoU ${pts(r.champion.shiftedMiou)}  held-out ${pts(r.champion.heldOutMiou)}`);
    if (r.promoted) console.log(`champion after:  ${r.name}@${r.promoted.version}  shifted mIoU ${pts(r.promoted.shiftedMiou)}  held-out ${pts(r.promoted.heldOutMiou)}  (${r.promoted.shiftedMiou >= r.champion.shiftedMiou ? '+' : ''}${(100 * (r.promoted.shiftedMiou - r.champion.shiftedMiou)).toFixed(2)} points on the shifted distribution)`);
    for (const d of r.decisions) {
      if (!d.canary) console.log(d.accepted ? `promoted ${d.version}` : `refused ${d.version}: ${d.reasons.join('; ')}`);
      const end = r.canaries.find((c) => c.version === d.version);
      if (d.canary) console.log(`canary ${d.version} ${DEMO_CANARY.weight}% (offline gate accepted) → ${end ? `${end.outcome === 'promoted' ? `promoted ${d.version}` : `rolled back ${d.version}: ${end.reason}`} after ${(end.durationMs / 1000).toFixed(1)} s (canary ${end.evidence.canary.frames} frames / ${end.evidence.canary.labels} labels, champion ${end.evidence.champion.frames} / ${end.evidence.champion.labels})` : 'still on trial'}`);
      if (end?.worseToRollbackMs != null) console.log(`  "canary worse on live labels" → rollback: ${(end.worseToRollbackMs / 1000).toFixed(1)} s`);
    }
    console.log(`label requests: ${r.labelRequests}; drift detected: ${r.drift ? 'yes' : 'no'}; hot swaps: ${r.swaps.join(', ') || 'none'}; ${Math.round((Date.now() - started) / 1000)} s`);
    console.log(`registry: ${r.models} (edgeseg models list --models ${r.models}); gate reports in ${join(r.models, r.name, '.gate')}`);
  } finally {
    if (own) await stopBroker(own);
  }
}

export function registerLoop(program: Command): void {
  gateOptions(
    program
      .command('loop')
      .description('the closed loop: serve the champion, ingest feedback, retrain on triggers, gate, promote, hot-swap')
      .option('--demo', 'run the whole loop on synthetic data with a simulated labeller (a few minutes; starts a broker if none is running)')
      .option('--workdir <dir>', '--demo: where its registry and feedback store go', join('.cache', 'loop-demo'))
      .option('--name <model>', 'model name in the registry (serves <name>@champion)')
      .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
      .option('--feedback <dir>', 'feedback store', 'feedback')
      .option('--brokers <list>', 'host:port[,…] (default: KAFKA_BROKERS, then the dev broker state file)')
      .option('--topics-prefix <p>', 'topic name prefix', DEFAULT_TOPIC_PREFIX)
      .option('--labels <n>', 'retrain after this many new labels (0 = off)', numberOption('labels', 0, true), 48)
      .option('--labeller <who>', "who answers label requests: people (the feedback endpoint and topic) or teacher:<model> (a teacher model's masks, e.g. teacher:deeplab)", 'people')
      .option('--teacher-classes <map>', "with --labeller teacher:…, the teacher classes that are a pet", DEFAULT_TEACHER_CLASSES)
      .option('--every <minutes>', 'also retrain on this schedule', numberOption('every', 0))
      .option('--no-drift', 'do not retrain on drift')
      .option('--drift-reference <file>', "drift reference (default: measured from the champion on its training data)")
      .option('--workers <n>', 'inference workers', numberOption('workers', 1, true))
      .option('--no-canary', 'promote an accepted challenger straight to champion (no canary rollout)')
      .option('--canary-weight <percent>', 'share of sensors and browsers a new canary serves', numberOption('canary-weight', 0), 5)
      .option('--canary-labels <n>', 'labels each arm needs before the canary is judged on live labels', numberOption('canary-labels', 1, true), 8)
      .option('--canary-frames <n>', 'frames each arm needs before the canary is judged', numberOption('canary-frames', 1, true), 40)
      .option('--canary-latency-factor <x>', "roll back at once when the canary's latency p95 exceeds the champion's by this factor", numberOption('canary-latency-factor', 1), 3),
  ).action(async (flags: LoopFlags, cmd: Command) => {
    const log = cliLogger('loop', cmd.optsWithGlobals());
    // The demo prints its own story; components log errors only unless --log-level says otherwise.
    if (flags.demo) return demo(flags, cliLogger('loop', { ...cmd.optsWithGlobals(), logLevel: (cmd.optsWithGlobals() as GlobalOptions).logLevel ?? 'error' }), cmd.getOptionValueSource('steps') === 'default' ? undefined : flags.steps);
    if (!flags.name) throw new ConfigError('--name is required (or --demo)');
    const teacher = flags.labeller === 'people' ? null : teacherRefOf(flags.labeller);
    if (flags.labeller !== 'people' && !teacher) throw new ConfigError(`--labeller must be people or teacher:<model>, got '${flags.labeller}'`);
    const closed = await startClosedLoop({
      name: flags.name,
      models: flags.models,
      feedback: flags.feedback,
      brokers: resolveBrokers(flags.brokers),
      topicPrefix: flags.topicsPrefix,
      driftReference: flags.driftReference ? parseDriftReference(readFileSync(flags.driftReference, 'utf8'), flags.driftReference) : undefined,
      stream: { workers: flags.workers, feedback: { token: process.env.EDGESEG_FEEDBACK_TOKEN } },
      triggers: { labels: flags.labels, everyMs: flags.every ? flags.every * 60_000 : null, drift: flags.drift },
      retrain: { ...retrainSettings(flags), onProgress: (m) => console.log(m) },
      canary: canaryRules(flags),
      teacher: teacher ? { model: teacher, classes: flags.teacherClasses } : null,
      log,
    });
    const { service, loop, judge } = closed;
    judge?.on('end', (end) => console.log(end.outcome === 'promoted' ? `promoted ${end.version}: ${end.reason}` : `rolled back ${end.version}: ${end.reason}`));
    loop.on('trigger', (t) => console.log(`retrain triggered by ${t}`));
    loop.on('decision', (d) => console.log(d.canary ? `canary ${d.version} ${flags.canaryWeight}%` : d.accepted ? `promoted ${d.version}` : `refused ${d.version}: ${d.reasons.join('; ')}`));
    loop.on('error', (err) => console.error(`retrain failed (the champion keeps serving): ${describeError(err)}`));
    console.log(`loop: serving ${service.modelVersion}; feedback → ${flags.feedback}${process.env.EDGESEG_FEEDBACK_TOKEN && service.url ? ` (POST ${service.url}/feedback)` : ''}; retrain after ${flags.labels} labels${flags.every ? `, every ${flags.every} min` : ''}${flags.drift ? ', on drift' : ''}${closed.labeler ? `; label requests answered by ${closed.labeler.labeler}` : ''}`);
    await new Promise<void>((resolve) => {
      const shutdown = () => void closed.stop().then(resolve);
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
  });
}
