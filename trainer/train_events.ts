/** What a training run reports as it goes (progress bars, logs, the closed loop). */
import type { ModelCard } from '../core/index.js';
import type { ActiveBackend } from '../core/node/backends/select.js';
import type { EpochRecord } from './report/training_report.js';

export type TrainEvent =
  | { type: 'scan'; done: number; total: number }
  /** `workers`: training threads (data-parallel replicas; 1 = the loop's own thread). */
  | { type: 'start'; version: string; runDir: string; backend: ActiveBackend; workers: number; totalSteps: number; stepsPerEpoch: number; startStep: number; resumed: boolean }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; imagesPerSecond: number; numTensors: number }
  | { type: 'validate'; done: number; total: number }
  | { type: 'epoch'; record: EpochRecord; improved: boolean }
  | { type: 'checkpoint'; step: number }
  | { type: 'stop'; reason: string }
  | { type: 'done'; dir: string; card: ModelCard };
