import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import type { TrainConfig } from '../../trainer/config.js';
import { findUnfinishedRun, resumeTraining, train, type TrainResult } from '../../trainer/train.js';
import { cliLogger, jsonOption, numberOption, type GlobalOptions } from '../context.js';
import { printTrainResult, trainProgress } from '../train_progress.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

interface TrainFlags extends GlobalOptions {
  config?: string;
  model?: string;
  name?: string;
  data?: string[];
  epochs?: number;
  batch?: number;
  lr?: number;
  lrSchedule?: TrainConfig['schedule'];
  warmup?: number;
  maxSteps?: number;
  backend?: TrainConfig['backend'];
  out?: string;
  seed?: number;
  shuffleBuffer?: number;
  flip?: boolean;
  checkpointEvery?: number;
  patience?: number;
  cache?: TrainConfig['cache'];
  workers?: number;
  initFrom?: string;
  init?: string;
  freezeEncoder?: number;
  modelConfig?: Record<string, unknown>;
  resume?: string | boolean;
  softTargets?: number;
  temperature?: number;
  teacherBorder?: 'learn' | 'ignore';
}

function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`config file ${path} cannot be read`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Partial<TrainConfig>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(err as Error).message}`);
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a U-Net and write models/<name>/<version>/ with its card and report')
    .option('--config <file>', 'JSON training config (same keys as trainer/config.ts); flags override it')
    .option('--model <arch>', 'unet-small | unet-mobilenetv2 (default unet-small)')
    .option('--name <name>', 'registry name (default: the architecture)')
    .option(
      '--data <spec>',
      'synthetic:count=N,size=S,seed=K | oxford:<dir> | folder:<images>:<masks> | feedback:<dir>; repeat it (or join with +) to train on several, each with an optional sampling weight *W, e.g. --data oxford:pets*3 --data oxford:teacher-labels',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--epochs <n>', 'epochs (default 5)', numberOption('epochs', 1, true))
    .option('--batch <n>', 'batch size (default 8)', numberOption('batch', 1, true))
    .option('--lr <rate>', 'peak learning rate (default 3e-4)', numberOption('lr', 0))
    .option('--lr-schedule <name>', 'constant | cosine | step (default constant)')
    .option('--warmup <steps>', 'linear warm-up steps (default 0)', numberOption('warmup', 0, true))
    .option('--max-steps <n>', 'stop after n steps', numberOption('max-steps', 1, true))
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (default auto)')
    .option('--out <dir>', 'registry root (default models)')
    .option('--seed <n>', 'seed for init, shuffle and augmentation (default 1)', numberOption('seed', 0, true))
    .option('--shuffle-buffer <n>', 'shuffle buffer (default 1000)', numberOption('shuffle-buffer', 0, true))
    .option('--no-flip', 'no random horizontal flip')
    .option('--checkpoint-every <steps>', 'checkpoint interval (default 50)', numberOption('checkpoint-every', 1, true))
    .option('--patience <epochs>', 'early-stopping patience, 0 = off (default 5)', numberOption('patience', 0, true))
    .option('--cache <mode>', 'memory | none (default memory)')
    .option('--workers <n>', 'training threads: data-parallel replicas on wasm/cpu, also the decode workers (default: every core; 0 = train and decode on this thread)', numberOption('workers', 0, true))
    .option('--init-from <model>', 'fine-tune from a model directory or registry ref')
    .option('--init <file.tflite>', 'start the unet-mobilenetv2 encoder from pretrained MobileNetV2 weights, e.g. data/mobilenet-v2-imagenet/mobilenet_v2_1.0_224_quant.tflite (ImageNet)')
    .option('--freeze-encoder <epochs>', 'train only the decoder for the first <epochs> epochs, then the whole model (default 0)', numberOption('freeze-encoder', 0, true))
    .option('--model-config <json>', 'architecture options, e.g. \'{"baseFilters":8,"depth":3}\'', jsonOption('model-config'))
    .option('--soft-targets <weight>', "weight 0–1 of a teacher's soft targets (edgeseg label writes them) against the hard labels; 0 = hard labels only (default 0)", numberOption('soft-targets', 0))
    .option('--temperature <T>', 'distillation temperature of the soft targets (default 2)', numberOption('temperature', 1))
    .option('--teacher-border <mode>', "the border band of teacher labels: learn it, or ignore it so only real trimaps teach the border (default learn)")
    .option('--resume [run]', 'continue the newest unfinished run (or the given run directory) from its checkpoint')
    .action(async (flags: TrainFlags, cmd: Command) => {
      const log = cliLogger('trainer', cmd.optsWithGlobals());
      const onEvent = trainProgress();
      let result: TrainResult;
      if (flags.resume) {
        const out = flags.out ?? DEFAULT_MODELS_ROOT;
        const run = typeof flags.resume === 'string' ? flags.resume : findUnfinishedRun(out, flags.name ?? flags.model);
        if (!run) throw new ConfigError(`no unfinished training run under ${out}${flags.name ?? flags.model ? ` for ${flags.name ?? flags.model}` : ''}`);
        result = await resumeTraining(run, { log, onEvent, backend: flags.backend, workers: flags.workers });
      } else {
        const file = flags.config ? readConfigFile(flags.config) : {};
        const fromFlags: Partial<TrainConfig> = {
          model: flags.model,
          name: flags.name,
          data: flags.data?.join('+'),
          epochs: flags.epochs,
          batchSize: flags.batch,
          learningRate: flags.lr,
          schedule: flags.lrSchedule,
          warmupSteps: flags.warmup,
          maxSteps: flags.maxSteps,
          backend: flags.backend,
          models: flags.out,
          seed: flags.seed,
          shuffleBuffer: flags.shuffleBuffer,
          flip: cmd.getOptionValueSource('flip') === 'cli' ? flags.flip : undefined,
          checkpointEvery: flags.checkpointEvery,
          patience: flags.patience,
          cache: flags.cache,
          workers: flags.workers,
          initFrom: flags.initFrom,
          init: flags.init,
          freezeEncoderEpochs: flags.freezeEncoder,
          modelConfig: flags.modelConfig,
          softTargets: flags.softTargets,
          temperature: flags.temperature,
          teacherBorder: flags.teacherBorder,
        };
        const merged = { ...file, ...Object.fromEntries(Object.entries(fromFlags).filter(([, v]) => v !== undefined)) };
        result = await train(merged, { log, onEvent });
      }
      printTrainResult(result);
    });
}
