/**
 * Worker side of `retrainInWorker`: runs one retrain (training, conversion, gate) on this thread's
 * own tfjs backend and reports progress, log records and the result to the parent. The parent's
 * event loop — Kafka heartbeats, inference, HTTP — never waits on a training step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type LogRecord } from '../../core/index.js';
import { serializeError } from '../../core/error_codec.js';
import { retrain, type RetrainOptions } from './retrain.js';
import type { RetrainWorkerMessage } from './retrain_isolated.js';

const { data } = workerData as { data: { options: Omit<RetrainOptions, 'log' | 'onProgress' | 'onTrainEvent'>; logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent' } };
const post = (m: RetrainWorkerMessage) => parentPort!.postMessage(m);
const log = createLogger('retrain', { level: data.logLevel, sink: (record: LogRecord) => post({ type: 'log', record }) });
try {
  const result = await retrain({ ...data.options, log, onProgress: (message) => post({ type: 'progress', message }), onTrainEvent: (event) => post({ type: 'train', event }) });
  post({ type: 'done', result });
} catch (err) {
  post({ type: 'error', error: serializeError(err) });
}
