import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Precision } from '../../core/index.js';
import { resolveModelRef, DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';
import { resolveBrokers } from '../../runtime-node/transport/brokers.js';
import { measureDriftReference } from '../../runtime-node/loop/drift_reference.js';
import { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { promote, publishDecision } from '../../runtime-node/loop/promotion.js';
import { trainedRoot } from '../../core/node/registry.js';
import { GATE_DEFAULTS } from '../../runtime-node/loop/gate.js';
import { baseDataOf } from '../../runtime-node/loop/lineage.js';
import { retrain } from '../../runtime-node/loop/retrain.js';
import { topicNames, DEFAULT_TOPIC_PREFIX } from '../../core/index.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { trainProgress } from '../train_progress.js';

interface RetrainFlags extends GlobalOptions {
  name: string;
  models: string;
  feedback: string;
  base?: string;
  steps: number;
  batch: number;
  lr: number;
  precision?: Precision;
  maxConvertDrop: number;
  minMiou: number;
  maxRegression: number;
  maxFeedbackRegression: number;
  shadow: number;
  promote?: boolean;
  brokers?: string;
  topicsPrefix: string;
}

/** Gate flags shared by `retrain` and `loop`. */
export function gateOptions(cmd: Command): Command {
  return cmd
    .option('--steps <n>', 'fine-tuning steps', numberOption('steps', 1, true), 60)
    .option('--batch <n>', 'batch size', numberOption('batch', 1, true), 8)
    .option('--lr <rate>', 'peak learning rate (cosine)', numberOption('lr', 0), 1e-3)
    .option('--precision <p>', "challenger precision (default: the champion's)")
    .option('--max-convert-drop <x>', 'converter budget vs its fp32 parent (0–1)', numberOption('max-convert-drop', 0), 0.01)
    .option('--min-miou <x>', 'gate: held-out mIoU floor (0–1)', numberOption('min-miou', 0), GATE_DEFAULTS.minMiou)
    .option('--max-regression <x>', 'gate: largest held-out mIoU drop vs the champion (0–1)', numberOption('max-regression', 0), GATE_DEFAULTS.maxRegression)
    .option('--max-feedback-regression <x>', 'gate: largest feedback-slice mIoU drop vs the champion (0–1)', numberOption('max-feedback-regression', 0), GATE_DEFAULTS.maxFeedbackRegression)
    .option('--shadow <frames>', 'shadow-score this many kept live frames with both models (0 = off)', numberOption('shadow', 0, true), 32);
}

export function retrainSettings(flags: Omit<RetrainFlags, 'name' | 'models' | 'feedback' | 'topicsPrefix'>) {
  return {
    base: flags.base,
    steps: flags.steps,
    batchSize: flags.batch,
    learningRate: flags.lr,
    precision: flags.precision,
    maxConvertDrop: flags.maxConvertDrop,
    shadowFrames: flags.shadow,
    gate: { minMiou: flags.minMiou, maxRegression: flags.maxRegression, maxFeedbackRegression: flags.maxFeedbackRegression },
  };
}

export function registerRetrain(program: Command): void {
  gateOptions(
    program
      .command('retrain')
      .description('fine-tune the champion on its base data + the feedback store, convert, and judge the challenger against the champion')
      .requiredOption('--name <model>', 'model name in the registry')
      .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
      .requiredOption('--feedback <dir>', 'feedback store')
      .option('--base <spec>', "base dataset spec (default: the champion's training data)"),
  )
    .option('--promote', 'promote the challenger when the gate accepts it')
    .option('--brokers <list>', 'announce a promotion on the models topic (host:port[,…])')
    .option('--topics-prefix <p>', 'topic name prefix', DEFAULT_TOPIC_PREFIX)
    .action(async (flags: RetrainFlags, cmd: Command) => {
      const log = cliLogger('retrain', cmd.optsWithGlobals());
      const r = await retrain({ ...retrainSettings(flags), name: flags.name, models: flags.models, feedback: flags.feedback, log, onProgress: (m) => console.log(m), onTrainEvent: trainProgress() });
      console.log(`report: ${r.reportPath.replace(/\.json$/, '.md')}`);
      const transport = flags.brokers ? new KafkaTransport({ brokers: resolveBrokers(flags.brokers), clientId: 'edgeseg-retrain' }) : null;
      const publisher = transport ? { transport, topics: topicNames(flags.topicsPrefix) } : undefined;
      try {
        await transport?.connect();
        if (!r.accepted) {
          await publishDecision(publisher, { name: flags.name, decision: 'refused', version: r.version, champion: r.report.champion?.version ?? '?', reasons: r.report.reasons });
          console.log(`refused ${r.version}: ${r.report.reasons.join('; ')}`);
          process.exitCode = 3;
        } else if (flags.promote) {
          await promote(flags.models, flags.name, r.version, { publisher, reason: 'gate accepted (edgeseg retrain --promote)' });
          console.log(`promoted ${r.version}`);
        } else {
          console.log(`accepted ${r.version} (challenger; promote with: edgeseg models promote ${flags.name}@${r.version})`);
        }
      } finally {
        await transport?.disconnect();
      }
    });

  program
    .command('drift-reference')
    .description("measure a model's drift reference (input and output statistics) on its training data")
    .requiredOption('--model <model>', 'model directory or registry ref')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--data <spec>', "dataset spec (default: the model's base training data)")
    .requiredOption('--out <file>', 'reference JSON to write')
    .action(async (flags: { model: string; models: string; data?: string; out: string }, cmd: Command) => {
      const log = cliLogger('drift', cmd.optsWithGlobals());
      const dir = resolveModelRef(flags.model, flags.models);
      const name = (JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as { name: string }).name;
      const data = flags.data ?? baseDataOf(trainedRoot(flags.models, name, dir).card);
      const ref = await measureDriftReference(dir, data, { log, out: flags.out });
      console.log(`drift reference: ${ref.frames} frames of ${ref.source} → ${flags.out}`);
    });
}
