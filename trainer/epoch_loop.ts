/**
 * The epoch loop of a run: steps over the shuffled training batches with the learning-rate
 * schedule and the NaN/Inf guard, a checkpoint every N steps, and at each epoch end validation,
 * early stopping and a checkpoint. Whatever runs the steps (this thread or replicas) is behind a
 * StepRunner; the loop syncs it before it reads the model.
 */
import { usesPackedTargets } from './loss.js';
import { appendFileSync } from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { TrainingDivergedError } from '../core/index.js';
import { tf } from '../core/node/tfjs.js';
import { saveBestWeights, saveCheckpoint, type LoopState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { SampleSet } from '../datasets/dataset.js';
import { batches } from '../datasets/pipeline.js';
import { judgeEpoch } from './early_stop.js';
import { evaluate, type Evaluation } from '../datasets/evaluate.js';
import type { EpochRecord, StepRecord } from './report/training_report.js';
import { learningRateAt, SCHEDULE_DEFAULTS } from './schedule.js';
import type { StepRunner } from './step_runner.js';
import type { TrainEvent } from './train_events.js';

export interface RunHistory {
  steps: StepRecord[];
  epochs: EpochRecord[];
}

export interface LoopContext {
  config: TrainConfig;
  /** metrics.jsonl of the run, appended to as steps and epochs finish. */
  metricsPath: string;
  ckptDir: string;
  model: LayersModel;
  optimizer: tf.Optimizer;
  steps: StepRunner;
  train: SampleSet;
  val: SampleSet;
  /** Where the loop stands; advanced in place (and saved with every checkpoint). */
  state: LoopState;
  history: RunHistory;
  totalSteps: number;
  stepsPerEpoch: number;
  dropRemainder: boolean;
  emit(e: TrainEvent): void;
}

/** Runs epochs until the configured epochs or steps are done or early stopping ends the run; returns the stop reason, if any. */
export async function runEpochs(ctx: LoopContext): Promise<string | null> {
  const { config, state } = ctx;
  while (state.epoch < config.epochs && state.step < ctx.totalSteps) {
    const epochStart = Date.now();
    const { lossSum, lossCount } = await trainEpoch(ctx);
    const epochDone = state.batchInEpoch >= ctx.stepsPerEpoch || state.step >= ctx.totalSteps;
    if (!epochDone) return null;
    const val = await validate(ctx, ctx.val);
    const record: EpochRecord = {
      epoch: state.epoch + 1,
      step: state.step,
      trainLoss: lossCount ? lossSum / lossCount : NaN,
      valLoss: val.loss,
      pixelAccuracy: val.metrics.pixelAccuracy,
      miou: val.metrics.miou,
      foregroundIou: val.metrics.foregroundIou,
      seconds: (Date.now() - epochStart) / 1000,
    };
    ctx.history.epochs.push(record);
    appendFileSync(ctx.metricsPath, JSON.stringify({ type: 'epoch', ...record }) + '\n');
    const { improved, stopReason } = judgeEpoch(state, val.metrics.miou, config);
    if (improved && config.restoreBest) await saveBestWeights(ctx.ckptDir, ctx.model);
    ctx.emit({ type: 'epoch', record, improved });
    state.epoch++;
    state.batchInEpoch = 0;
    if (stopReason) {
      ctx.emit({ type: 'stop', reason: stopReason });
      return stopReason;
    }
    if (state.step < ctx.totalSteps) await checkpoint(ctx);
  }
  return null;
}

/** The rest of the current epoch's batches (from `state.batchInEpoch`), up to the step cap. */
async function trainEpoch(ctx: LoopContext): Promise<{ lossSum: number; lossCount: number }> {
  const { config, state } = ctx;
  const schedule = { ...SCHEDULE_DEFAULTS, learningRate: config.learningRate, schedule: config.schedule, warmupSteps: config.warmupSteps };
  let lossSum = 0;
  let lossCount = 0;
  let throughput = 0;
  // The pipeline builds the next batch on this thread while the current one trains.
  for await (const batch of batches(ctx.train, {
    batchSize: config.batchSize,
    shuffleBuffer: config.shuffleBuffer,
    flip: config.flip,
    seed: config.seed,
    epoch: state.epoch,
    dropRemainder: ctx.dropRemainder,
    startBatch: state.batchInEpoch,
    softTargets: usesPackedTargets(config),
  })) {
    if (state.step >= ctx.totalSteps) break;
    const t0 = performance.now();
    const lr = learningRateAt(state.step, ctx.totalSteps, schedule);
    const loss = await ctx.steps.step(batch, lr);
    if (!Number.isFinite(loss)) {
      throw new TrainingDivergedError(
        `loss became ${loss} at step ${state.step + 1} (learning rate ${lr.toExponential(2)}); lower --lr or check the data. No model was written; the last checkpoint is in ${ctx.ckptDir}`,
      );
    }
    state.step++;
    state.batchInEpoch++;
    lossSum += loss;
    lossCount++;
    const seconds = (performance.now() - t0) / 1000;
    throughput = throughput ? 0.9 * throughput + 0.1 * (batch.size / seconds) : batch.size / seconds;
    const record: StepRecord = { step: state.step, epoch: state.epoch + 1, loss, lr };
    ctx.history.steps.push(record);
    appendFileSync(ctx.metricsPath, JSON.stringify({ type: 'step', ...record, seconds }) + '\n');
    ctx.emit({ type: 'step', step: state.step, totalSteps: ctx.totalSteps, epoch: state.epoch + 1, loss, lr, imagesPerSecond: throughput, numTensors: tf.memory().numTensors });
    if (state.step % config.checkpointEvery === 0 && state.step < ctx.totalSteps) await checkpoint(ctx);
  }
  return { lossSum, lossCount };
}

/** Weights, optimizer state and loop position, from the training threads to disk. */
export async function checkpoint(ctx: LoopContext): Promise<void> {
  await ctx.steps.sync();
  await saveCheckpoint(ctx.ckptDir, ctx.model, ctx.optimizer, ctx.state);
  ctx.emit({ type: 'checkpoint', step: ctx.state.step });
}

/** Evaluates the current weights on `set` without gradients. */
export async function validate(ctx: Pick<LoopContext, 'config' | 'model' | 'steps' | 'emit'>, set: SampleSet): Promise<Evaluation> {
  await ctx.steps.sync();
  return evaluate(ctx.model, set, { batchSize: Math.max(ctx.config.batchSize, 8), onProgress: (done, total) => ctx.emit({ type: 'validate', done, total }) });
}
