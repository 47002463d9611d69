/**
 * The training loop. It knows a model, data, a loss, an optimizer and metrics (book §6): per-step
 * loss, validation without gradients each epoch, checkpoints of weights + optimizer state every N
 * steps and per epoch, resume after a kill, early stopping, a NaN/Inf guard, and at the end a
 * versioned model directory with its card, metrics log and report.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, createLogger, DatasetError, EdgesegError, INPUT_SIZE, type Logger, type ModelCard } from '../core/index.js';
import { unitInputData } from '../core/preprocess.js';
import { parseJsonText } from '../core/schemas.js';
import { saveLayersModel } from '../core/node/artifact_fs.js';
import { writeFileAtomic } from '../core/node/fs_atomic.js';
import { listModelNames, listStaged, publishRun, reserveVersion } from '../core/node/registry.js';
import { selectBackend, type ActiveBackend } from '../core/node/backends/select.js';
import { hasCheckpoint, loadCheckpoint, restoreBestWeights, type LoopState } from './checkpoint.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { openDataset, type Dataset } from '../datasets/dataset.js';
import { batchCount } from '../datasets/pipeline.js';
import { runEpochs, validate, type LoopContext, type RunHistory } from './epoch_loop.js';
import type { Evaluation } from '../datasets/evaluate.js';
import { initModel, type InitialModel } from './initial_model.js';
import { encoderFreezeSteps } from './pretrained/encoder_freeze.js';
import { prepareInit, type PreparedInit } from './pretrained/encoder_init.js';
import { countFlops } from './models/flops.js';
import { rowForegroundIou, sampleGridPng } from './report/sample_grid.js';
import { trainingReport, type EpochRecord, type StepRecord } from './report/training_report.js';
import { codeRevision } from '../core/node/revision.js';
import type { StepRunner } from './step_runner.js';
import { adam } from './fused_adam.js';
import { teachersOf, type TeacherProvenance } from './teacher/provenance.js';
import type { TrainEvent } from './train_events.js';
import { startTrainingThreads, trainingWorkers } from './training_threads.js';
import { tf } from '../core/node/tfjs.js';

export type { TrainEvent } from './train_events.js';

/** Where a training run reports: logger, events and dataset lines. */
export interface TrainOptions {
  log?: Logger;
  onEvent?(event: TrainEvent): void;
  /** Where dataset lines go. @default console.log */
  print?(line: string): void;
}

/** The version a training run wrote. */
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
  const { version, runDir } = reserveVersion(resolve(config.models), config.name);
  writeFileAtomic(join(runDir, RUN_FILE), JSON.stringify({ name: config.name, version, config, started: new Date().toISOString() } satisfies RunFile, null, 2));
  try {
    return await runTraining(runDir, false, options);
  } catch (err) {
    // A run refused before its first checkpoint (a bad --init, an empty dataset) has nothing to
    // resume: `train --resume` would only pick it up and fail the same way. A crash, a kill or a
    // retriable error keeps it for resuming.
    if (err instanceof EdgesegError && !err.retriable && !hasCheckpoint(join(runDir, 'checkpoints'))) rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

/** What a resumed run may change: where it trains, not what it trains. */
export interface ResumeOverrides {
  backend?: TrainConfig['backend'];
  /** Training threads; the loss curve does not depend on them (synchronised replicas). */
  workers?: number;
}

/** Continues an unfinished run from its last checkpoint (or from the start if it never saved one). */
export async function resumeTraining(runDir: string, options: TrainOptions & ResumeOverrides = {}): Promise<TrainResult> {
  if (!existsSync(join(runDir, RUN_FILE))) throw new ConfigError(`${runDir} is not an unfinished training run (no ${RUN_FILE})`);
  return runTraining(runDir, true, options);
}

async function runTraining(runDir: string, resumed: boolean, options: TrainOptions & ResumeOverrides): Promise<TrainResult> {
  const runFile = join(runDir, RUN_FILE);
  const run = parseJsonText(readFileSync(runFile, 'utf8'), runFile, (m) => new ConfigError(`${m}; the run cannot be resumed, delete ${runDir}`)) as RunFile;
  const overrides = { ...(options.backend ? { backend: options.backend } : {}), ...(options.workers !== undefined ? { workers: options.workers } : {}) };
  const config = resolveTrainConfig({ ...run.config, ...overrides } as Partial<TrainConfig> & Record<string, unknown>);
  const log = options.log ?? createLogger('trainer');
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  const backend = await selectBackend(config.backend, log);
  const init = prepareInit(config);
  const dataset = await openDataset(config.data, {
    normalization: init.normalization,
    cache: config.cache,
    workers: config.workers ?? undefined,
    log: log.child('data'),
    print: options.print,
    onProgress: (done, total) => emit({ type: 'scan', done, total }),
  });
  let initial: InitialModel | undefined;
  let optimizer: tf.Optimizer | undefined;
  let steps: StepRunner | undefined;
  try {
    if (dataset.train.size === 0) throw new DatasetError('DATASET_EMPTY', `dataset ${dataset.spec} has no training samples`);
    if (dataset.val.size === 0) throw new DatasetError('DATASET_EMPTY', `dataset ${dataset.spec} has no held-out samples (10% split by name); use more samples`);
    initial = await initModel(config, log);
    const { model } = initial;
    await init.apply(model, dataset.train, log);
    optimizer = adam(config.learningRate);
    const ckptDir = join(runDir, 'checkpoints');
    const metricsPath = join(runDir, METRICS_FILE);
    const state = await restoreOrStart({ resumed, ckptDir, metricsPath, model, optimizer, log });
    const workers = trainingWorkers(config, backend.name, dataset.train.size);
    if (config.workers !== null && config.workers > 1 && workers === 1) log.info('training on one thread', { backend: backend.name, why: 'replicas need the wasm or cpu backend and a batch of ≥ 2' });
    // Replicas start from the restored weights and optimizer state.
    const opt = optimizer;
    steps = await encoderFreezeSteps({ epochs: config.freezeEncoderEpochs, model, optimizer, state, log, start: () => startTrainingThreads({ workers, backend: backend.name, model, optimizer: opt, config, log }) });
    const dropRemainder = dataset.train.size >= config.batchSize;
    const stepsPerEpoch = batchCount(dataset.train.size, config.batchSize, dropRemainder);
    const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);
    emit({ type: 'start', version: run.version, runDir, backend, workers: steps.workers, totalSteps, stepsPerEpoch, startStep: state.step, resumed });
    const history = readHistory(runDir);
    const loop: LoopContext = { config, metricsPath, ckptDir, model, optimizer, steps, train: dataset.train, val: dataset.val, state, history, totalSteps, stepsPerEpoch, dropRemainder, emit };
    const stopReason = await runEpochs(loop);
    await steps.sync();
    await steps.close();
    if (config.restoreBest && state.bestEpoch > 0 && state.bestEpoch !== history.epochs.at(-1)?.epoch) {
      restoreBestWeights(ckptDir, model);
      log.info('restored best weights', { epoch: state.bestEpoch, miou: state.bestMiou });
    }
    // The card's metrics come from the held-out set: the source's test split when it has one, never the val split early stopping chose on.
    const final = await validate(loop, dataset.heldOut);
    const { modelConfig, parentVersion } = initial;
    return await finish({ runDir, run, config, modelConfig, parentVersion, model, dataset, backend, final, history, state, stopReason, started, emit, init });
  } finally {
    await steps?.close();
    optimizer?.dispose();
    initial?.model.dispose();
    await dataset.close();
  }
}

/** The loop state to continue from: the last checkpoint's on resume, else a fresh start (and a fresh metrics log). */
async function restoreOrStart(o: { resumed: boolean; ckptDir: string; metricsPath: string; model: LayersModel; optimizer: tf.Optimizer; log: Logger }): Promise<LoopState> {
  if (o.resumed && hasCheckpoint(o.ckptDir)) {
    const state = await loadCheckpoint(o.ckptDir, o.model, o.optimizer);
    o.log.info('resumed', { step: state.step, epoch: state.epoch + 1, batch: state.batchInEpoch });
    return state;
  }
  if (existsSync(o.metricsPath)) rmSync(o.metricsPath);
  return { step: 0, epoch: 0, batchInEpoch: 0, bestMiou: -Infinity, bestEpoch: 0, epochsWithoutImprovement: 0 };
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
  init: PreparedInit;
}

async function finish(f: FinishInput): Promise<TrainResult> {
  const { config, model, dataset, final } = f;
  // Keep only the steps up to the final one (a resumed run replays some steps after its checkpoint).
  const steps = [...new Map(f.history.steps.map((s) => [s.step, s])).values()].sort((a, b) => a.step - b.step);
  const epochs = [...new Map(f.history.epochs.map((e) => [e.epoch, e])).values()].sort((a, b) => a.epoch - b.epoch);
  const rows = [];
  const shown = Math.min(config.reportSamples, dataset.heldOut.size);
  if (shown > 0) {
    // Spread over the held-out set (sorted by name, so the first few would all be one breed).
    const samples = await Promise.all(Array.from({ length: shown }, (_, i) => dataset.heldOut.get(Math.floor((i * dataset.heldOut.size) / shown))));
    const images = new Float32Array(shown * INPUT_SIZE * INPUT_SIZE * 3);
    samples.forEach((s, i) => images.set(s.image, i * s.image.length));
    const predicted = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(images, [shown, INPUT_SIZE, INPUT_SIZE, 3])) as tf.Tensor4D, -1));
    const ids = Uint8Array.from(await predicted.data());
    predicted.dispose();
    const px = INPUT_SIZE * INPUT_SIZE;
    // The grid shows the photos as they are, not as the model's normalization scaled them (normalising sets hand out copies; unit ones are left as they are).
    for (const s of samples) s.image = unitInputData(s.image, f.init.normalization);
    for (let i = 0; i < shown; i++) rows.push({ id: samples[i].id, image: samples[i].image, truth: samples[i].mask, predicted: ids.subarray(i * px, (i + 1) * px) });
  }
  const metrics = { pixelAccuracy: final.metrics.pixelAccuracy, miou: final.metrics.miou, perClassIou: final.metrics.perClassIou, dice: final.metrics.dice, foregroundIou: final.metrics.foregroundIou };
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
    samples: rows.map((row) => ({ id: row.id, foregroundIou: rowForegroundIou(row) })),
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
      dataset: {
        spec: dataset.spec,
        manifestHash: dataset.manifest.hash,
        train: dataset.train.size,
        validation: dataset.val.size,
        test: dataset.test.size,
        skipped: dataset.skipped.length,
        ...teachersField(dataset.spec),
      },
      evaluation: { spec: `${dataset.spec}#${dataset.heldOutSplit}`, manifestHash: dataset.manifest.splitHashes[dataset.heldOutSplit], samples: dataset.heldOut.size },
      normalization: f.init.normalization,
      training: { ...config, init: f.init.record(), steps: f.state.step, epochsCompleted: epochs.length, bestEpoch: f.state.bestEpoch, stoppedEarly: f.stopReason, seconds },
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
  const dir = await publishRun(resolve(config.models), config.name, f.run.version);
  f.emit({ type: 'done', dir, card });
  return { dir, version: f.run.version, card };
}

/** The card's `teachers` field when a source of the dataset was labelled by a teacher. */
function teachersField(spec: string): { teachers?: TeacherProvenance[] } {
  const teachers = teachersOf(spec);
  return teachers.length ? { teachers } : {};
}
