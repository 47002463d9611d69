/**
 * How many threads train, and starting them. Data-parallel replicas need a backend whose kernels
 * run on the calling thread (wasm, cpu); GPU and native backends train on the loop's thread.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { availableParallelism } from 'node:os';
import type { Logger } from '../core/index.js';
import type { ActiveBackend } from '../core/node/backends/select.js';
import { tf } from '../core/node/tfjs.js';
import type { TrainConfig } from './config.js';
import { startReplicas } from './parallel/replica_group.js';
import { inProcessSteps, type StepRunner } from './step_runner.js';

/**
 * Replicas for this run: `config.workers` (default: every core), but no more than the rows of a
 * batch (each replica needs at least one) and 1 on a backend that cannot be replicated.
 */
export function trainingWorkers(config: Pick<TrainConfig, 'workers' | 'batchSize'>, backend: ActiveBackend['name'], trainSize: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  const wanted = config.workers ?? availableParallelism();
  return Math.max(1, Math.min(wanted, config.batchSize, trainSize));
}

export async function startTrainingThreads(o: {
  workers: number;
  backend: ActiveBackend['name'];
  model: LayersModel;
  optimizer: tf.Optimizer;
  config: Pick<TrainConfig, 'learningRate' | 'batchSize' | 'softTargets' | 'temperature' | 'teacherBorder'>;
  log: Logger;
}): Promise<StepRunner> {
  const loss = { softTargets: o.config.softTargets, temperature: o.config.temperature, teacherBorder: o.config.teacherBorder };
  if (o.workers <= 1 || (o.backend !== 'wasm' && o.backend !== 'cpu')) return inProcessSteps(o.model, o.optimizer, loss);
  return startReplicas({ workers: o.workers, backend: o.backend, model: o.model, optimizer: o.optimizer, learningRate: o.config.learningRate, batchSize: o.config.batchSize, loss, log: o.log });
}
