/**
 * The training loop. It knows a model, data, a loss, an optimizer and metrics (book §6): per-step
 * loss, validation without gradients each epoch, checkpoints of weights + optimizer state every N
 * steps and per epoch, resume after a kill, early stopping, a NaN/Inf guard, and at the end a
 * versioned model directory with its card, metrics log and report.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  ConfigError,
  createLogger,
  DatasetError,
  INPUT_SIZE,
  TrainingDivergedError,
  type Logger,
  type ModelCard,
} from '../core/index.js';
import { loadLayersModel, saveLayersModel } from '../core/node/artifact_fs.js';
import { writeFileAtomic } from '../core/node/fs_atomic.js';
import { listModelNames, listStaged, publishRun, reserveVersion, resolveModelRef } from '../core/node/registry.js';
import { selectBackend, type ActiveBackend } from '../core/node/backends/select.js';
import { hasCheckpoint, loadCheckpoint, restoreBestWeights, saveBestWeights, saveCheckpoint, type LoopState } from './checkpoint.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { openDataset, type Dataset, type SampleSet } from './data/dataset.js';
import { batchCount, batches } from './data/pipeline.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { sparseCrossEntropy } from './loss.js';
import { countFlops } from './models/flops.js';
import { buildModel } from './models/index.js';
import { seedWeights } from './models/init.js';
import { isEncoderLayer } from './models/unet_mobilenetv2.js';
import { sampleGridPng } from './report/sample_grid.js';
import { trainingReport, type EpochRecord, type StepRecord } from './report/training_report.js';
import { codeRevision } from '../core/node/revision.js';
import { learningRateAt, SCHEDULE_DEFAULTS } from './schedule.js';
import { tf } from '../core/node/tfjs.js';

export type TrainEvent =
  | { type: 'scan'; done: number; total: number }
  | { type: 'start'; version: string; runDir: string; backend: ActiveBackend; totalSteps: number; stepsPerEpoch: number; startStep: number; resumed: boolean }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; imagesPerSecond: number; numTensors: number }
  | { type: 'validate'; done: number; total: number }
  | { type: 'epoch'; record: EpochRecord; improved: boolean }
  | { type: 'checkpoint'; step: number }
  | { type: 'stop'; reason: string }
  | { type: 'done'; dir: string; card: ModelCard };

export interface TrainOptions {
  log?: Logger;
  onEvent?(event: TrainEvent): void;
  /** Where dataset lines go. @default console.log */
  print?(line: string): void;
}

export interface TrainResult {
  dir: string;
  version: string;
  card: ModelCard;
}

const RUN_FILE = 'run.json';
const METRICS_FILE = 'metrics.jsonl';

interface RunFile {
  name: string;
  version: string;
  config: TrainConfig;
  started: string;
}

/** The newest unfinished run of a model name (or of any model) under a registry root. */
export function findUnfinishedRun(root: string, name?: string): string | null {
  const candidates: { dir: string; mtime: number }[] = [];
  for (const n of name ? [name] : listModelNames(root)) {
    for (const dir of listStaged(root, n)) {
      if (existsSync(join(dir, RUN_FILE))) candidates.push({ dir, mtime: statSync(join(dir, RUN_FILE)).mtimeMs });
    }
  }
  candidates.sort((a, b) => b.mtime - a.mtime);
  return candidates[0]?.dir ?? null;
}

/** Trains a model from a (partial) config and writes `<out>/<name>/<version>/`. */
export async function train(input: Partial<TrainConfig>, options: TrainOptions = {}): Promise<TrainResult> {
  const config = resolveTrainConfig(input as Partial<TrainConfig> & Record<string, unknown>);
  const { version, runDir } = reserveVersion(resolve(config.out), config.name);
  writeFileAtomic(join(runDir, RUN_FILE), JSON.stringify({ name: config.name, version, config, started: new Date().toISOString() } satisfies RunFile, null, 2));
  return runTraining(runDir, false, options);
}

/** Continues an unfinished run from its last checkpoint (or from the start if it never saved one). */
export async function resumeTraining(runDir: string, options: TrainOptions & { backend?: TrainConfig['backend'] } = {}): Promise<TrainResult> {
  if (!existsSync(join(runDir, RUN_FILE))) throw new ConfigError(`${runDir} is not an unfinished training run (no ${RUN_FILE})`);
  return runTraining(runDir, true, options);
}

async function runTraining(runDir: string, resumed: boolean, options: TrainOptions & { backend?: TrainConfig['backend'] }): Promise<TrainResult> {
  const run = JSON.parse(readFileSync(join(runDir, RUN_FILE), 'utf8')) as RunFile;
  const config = resolveTrainConfig({ ...run.config, ...(options.backend ? { backend: options.backend } : {}) } as Partial<TrainConfig> & Record<string, unknown>);
  const log = options.log ?? createLogger('trainer');
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  const backend = await selectBackend(config.backend, log);
  const dataset = await openDataset(config.data, {
    cache: config.cache,
    workers: config.workers ?? undefined,
    log: log.child('data'),
    print: options.print,
    onProgress: (done, total) => emit({ type: 'scan', done, total }),
  });
  let model: LayersModel | undefined;
  let optimizer: tf.Optimizer | undefined;
  try {
    if (dataset.train.size === 0) throw new DatasetError('DATASET_EMPTY', `dataset ${dataset.spec} has no training samples`);
    if (dataset.val.size === 0) throw new DatasetError('DATASET_EMPTY', `dataset ${dataset.spec} has no held-out samples (10% split by name); use more samples`);
    let parentVersion: string | null = null;
    let modelConfig: Record<string, unknown>;
    if (config.initFrom) {
      const loaded = await loadLayersModel(resolveModelRef(config.initFrom, config.out));
      if (loaded.card.architecture.name !== config.model) {
        throw new ConfigError(`--init-from model is ${loaded.card.architecture.name}, not ${config.model}`);
      }
      model = loaded.model;
      modelConfig = { ...loaded.card.architecture.config, ...config.modelConfig };
      parentVersion = loaded.card.version;
      if (config.modelConfig.freezeEncoder) {
        for (const layer of model.layers) if (isEncoderLayer(layer.name)) layer.trainable = false;
        log.info('encoder frozen', { trainableWeights: model.trainableWeights.length });
      }
    } else {
      if (config.modelConfig.freezeEncoder) throw new ConfigError('freezeEncoder needs encoder weights to keep: start from a trained model with --init-from');
      const built = buildModel(config.model, config.modelConfig);
      model = built.model;
      modelConfig = built.config;
      seedWeights(model, config.seed);
    }
    optimizer = tf.train.adam(config.learningRate);
    const ckptDir = join(runDir, 'checkpoints');
    let state: LoopState = { step: 0, epoch: 0, batchInEpoch: 0, bestMiou: -Infinity, bestEpoch: 0, epochsWithoutImprovement: 0 };
    if (resumed && hasCheckpoint(ckptDir)) {
      state = await loadCheckpoint(ckptDir, model, optimizer);
      log.info('resumed', { step: state.step, epoch: state.epoch + 1, batch: state.batchInEpoch });
    } else if (existsSync(join(runDir, METRICS_FILE))) {
      rmSync(join(runDir, METRICS_FILE));
    }
    const dropRemainder = dataset.train.size >= config.batchSize;
    const stepsPerEpoch = batchCount(dataset.train.size, config.batchSize, dropRemainder);
    const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);
    emit({ type: 'start', version: run.version, runDir, backend, totalSteps, stepsPerEpoch, startStep: state.step, resumed });

    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const schedule = { ...SCHEDULE_DEFAULTS, learningRate: config.learningRate, schedule: config.schedule, warmupSteps: config.warmupSteps };
    const history = readHistory(runDir);
    let throughput = 0;
    let stopReason: string | null = null;

    const validate = async (set: SampleSet = dataset.val): Promise<Evaluation> =>
      evaluate(model!, set, { batchSize: Math.max(config.batchSize, 8), onProgress: (done, total) => emit({ type: 'validate', done, total }) });

    while (state.epoch < config.epochs && state.step < totalSteps && !stopReason) {
      const epochStart = Date.now();
      let lossSum = 0;
      let lossCount = 0;
      for await (const batch of batches(dataset.train, {
        batchSize: config.batchSize,
        shuffleBuffer: config.shuffleBuffer,
        flip: config.flip,
        seed: config.seed,
        epoch: state.epoch,
        dropRemainder,
        startBatch: state.batchInEpoch,
      })) {
        if (state.step >= totalSteps) break;
        const t0 = performance.now();
        const lr = learningRateAt(state.step, totalSteps, schedule);
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const xs = tf.tensor4d(batch.images, [batch.size, INPUT_SIZE, INPUT_SIZE, 3]);
        const ys = tf.tensor3d(batch.masks, [batch.size, INPUT_SIZE, INPUT_SIZE], 'int32');
        const lossTensor = optimizer.minimize(() => sparseCrossEntropy(model!.apply(xs, { training: true }) as tf.Tensor4D, ys), true, vars)!;
        const loss = (await lossTensor.data())[0];
        tf.dispose([xs, ys, lossTensor]);
        if (!Number.isFinite(loss)) {
          throw new TrainingDivergedError(
            `loss became ${loss} at step ${state.step + 1} (learning rate ${lr.toExponential(2)}); lower --lr or check the data. No model was written; the last checkpoint is in ${ckptDir}`,
          );
        }
        state.step++;
        state.batchInEpoch++;
        lossSum += loss;
        lossCount++;
        const seconds = (performance.now() - t0) / 1000;
        throughput = throughput ? 0.9 * throughput + 0.1 * (batch.size / seconds) : batch.size / seconds;
        const record: StepRecord = { step: state.step, epoch: state.epoch + 1, loss, lr };
        history.steps.push(record);
        appendFileSync(join(runDir, METRICS_FILE), JSON.stringify({ type: 'step', ...record, seconds }) + '\n');
        emit({ type: 'step', step: state.step, totalSteps, epoch: state.epoch + 1, loss, lr, imagesPerSecond: throughput, numTensors: tf.memory().numTensors });
        if (state.step % config.checkpointEvery === 0 && state.step < totalSteps) {
          await saveCheckpoint(ckptDir, model, optimizer, state);
          emit({ type: 'checkpoint', step: state.step });
        }
      }
      const epochDone = state.batchInEpoch >= stepsPerEpoch || state.step >= totalSteps;
      if (!epochDone) break;
      const val = await validate();
      const record: EpochRecord = {
        epoch: state.epoch + 1,
        step: state.step,
        trainLoss: lossCount ? lossSum / lossCount : NaN,
        valLoss: val.loss,
        pixelAccuracy: val.metrics.pixelAccuracy,
        miou: val.metrics.miou,
        seconds: (Date.now() - epochStart) / 1000,
      };
      history.epochs.push(record);
      appendFileSync(join(runDir, METRICS_FILE), JSON.stringify({ type: 'epoch', ...record }) + '\n');
      const improved = val.metrics.miou > state.bestMiou + config.minDelta;
      if (improved) {
        state.bestMiou = val.metrics.miou;
        state.bestEpoch = state.epoch + 1;
        state.epochsWithoutImprovement = 0;
        if (config.restoreBest) await saveBestWeights(ckptDir, model);
      } else {
        state.epochsWithoutImprovement++;
      }
      emit({ type: 'epoch', record, improved });
      state.epoch++;
      state.batchInEpoch = 0;
      if (config.patience > 0 && state.epochsWithoutImprovement >= config.patience) {
        stopReason = `no validation mIoU gain ≥ ${config.minDelta} for ${config.patience} epochs (best ${state.bestMiou.toFixed(4)} at epoch ${state.bestEpoch})`;
        emit({ type: 'stop', reason: stopReason });
      }
      if (state.step < totalSteps && !stopReason) {
        await saveCheckpoint(ckptDir, model, optimizer, state);
        emit({ type: 'checkpoint', step: state.step });
      }
    }
    if (config.restoreBest && state.bestEpoch > 0 && state.bestEpoch !== history.epochs.at(-1)?.epoch) {
      restoreBestWeights(ckptDir, model);
      log.info('restored best weights', { epoch: state.bestEpoch, miou: state.bestMiou });
    }
    // The card's metrics come from the held-out set: the source's test split when it has one, never the val split early stopping chose on.
    const final = await validate(dataset.heldOut);
    return await finish({ runDir, run, config, modelConfig, parentVersion, model, dataset, backend, final, history, state, stopReason, started, emit });
  } finally {
    optimizer?.dispose();
    model?.dispose();
    await dataset.close();
  }
}

function readHistory(runDir: string): { steps: StepRecord[]; epochs: EpochRecord[] } {
  const steps: StepRecord[] = [];
  const epochs: EpochRecord[] = [];
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return { steps, epochs };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: { type: string } & Record<string, number>;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut short by a kill
    }
    if (r.type === 'step') steps.push(r as unknown as StepRecord);
    else if (r.type === 'epoch') epochs.push(r as unknown as EpochRecord);
  }
  return { steps, epochs };
}

interface FinishInput {
  runDir: string;
  run: RunFile;
  config: TrainConfig;
  modelConfig: Record<string, unknown>;
  parentVersion: string | null;
  model: LayersModel;
  dataset: Dataset;
  backend: ActiveBackend;
  final: Evaluation;
  history: { steps: StepRecord[]; epochs: EpochRecord[] };
  state: LoopState;
  stopReason: string | null;
  started: number;
  emit(e: TrainEvent): void;
}

async function finish(f: FinishInput): Promise<TrainResult> {
  const { config, model, dataset, final } = f;
  // Keep only the steps up to the final one (a resumed run replays some steps after its checkpoint).
  const steps = [...new Map(f.history.steps.map((s) => [s.step, s])).values()].sort((a, b) => a.step - b.step);
  const epochs = [...new Map(f.history.epochs.map((e) => [e.epoch, e])).values()].sort((a, b) => a.epoch - b.epoch);
  const rows = [];
  const shown = Math.min(config.reportSamples, dataset.heldOut.size);
  if (shown > 0) {
    const samples = await Promise.all(Array.from({ length: shown }, (_, i) => dataset.heldOut.get(i)));
    const images = new Float32Array(shown * INPUT_SIZE * INPUT_SIZE * 3);
    samples.forEach((s, i) => images.set(s.image, i * s.image.length));
    const predicted = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(images, [shown, INPUT_SIZE, INPUT_SIZE, 3])) as tf.Tensor4D, -1));
    const ids = Uint8Array.from(await predicted.data());
    predicted.dispose();
    const px = INPUT_SIZE * INPUT_SIZE;
    for (let i = 0; i < shown; i++) rows.push({ image: samples[i].image, truth: samples[i].mask, predicted: ids.subarray(i * px, (i + 1) * px) });
  }
  const metrics = { pixelAccuracy: final.metrics.pixelAccuracy, miou: final.metrics.miou, perClassIou: final.metrics.perClassIou, dice: final.metrics.dice };
  const seconds = (Date.now() - f.started) / 1000;
  const report = trainingReport({
    title: `${config.name} ${f.run.version}`,
    summary: [
      ['architecture', `${config.model} ${JSON.stringify(f.modelConfig)}`],
      ['data', `${dataset.spec} (${dataset.train.size} train, ${dataset.val.size} validation, ${dataset.test.size} test, ${dataset.skipped.length} skipped; metrics on ${dataset.heldOutSplit})`],
      ['backend', `${f.backend.name}${f.backend.adapter ? ` (${f.backend.adapter})` : ''}`],
      ['steps', `${f.state.step} (batch ${config.batchSize}, lr ${config.learningRate} ${config.schedule})`],
      ['stopped', f.stopReason ?? 'after the configured epochs/steps'],
      ['wall time', `${seconds.toFixed(0)} s`],
    ],
    steps,
    epochs,
    final: final.metrics,
    samplesPng: rows.length ? await sampleGridPng(rows) : new Uint8Array(0),
  });
  const metricsLog = readFileSync(join(f.runDir, 'metrics.jsonl'));
  rmSync(join(f.runDir, 'checkpoints'), { recursive: true, force: true });
  const card = await saveLayersModel(
    model,
    f.runDir,
    {
      name: config.name,
      version: f.run.version,
      parentVersion: f.parentVersion,
      created: new Date().toISOString(),
      architecture: { name: config.model, config: { ...f.modelConfig, flops: countFlops(model) } },
      precision: 'fp32',
      metrics,
      dataset: { spec: dataset.spec, manifestHash: dataset.manifest.hash, train: dataset.train.size, validation: dataset.val.size, test: dataset.test.size, skipped: dataset.skipped.length },
      evaluation: { spec: `${dataset.spec}#${dataset.heldOutSplit}`, manifestHash: dataset.manifest.splitHashes[dataset.heldOutSplit], samples: dataset.heldOut.size },
      training: { ...config, steps: f.state.step, epochsCompleted: epochs.length, bestEpoch: f.state.bestEpoch, stoppedEarly: f.stopReason, seconds },
      backend: { name: f.backend.name, ...(f.backend.adapter ? { adapter: f.backend.adapter } : {}) },
      codeRevision: codeRevision(),
    },
    [
      { path: 'metrics.jsonl', data: metricsLog },
      { path: 'dataset-manifest.json', data: JSON.stringify(dataset.manifest) },
      ...Object.entries(report)
        .filter(([, data]) => data.length > 0)
        .map(([path, data]) => ({ path, data })),
    ],
  );
  rmSync(join(f.runDir, RUN_FILE), { force: true });
  const dir = await publishRun(resolve(config.out), config.name, f.run.version);
  f.emit({ type: 'done', dir, card });
  return { dir, version: f.run.version, card };
}
