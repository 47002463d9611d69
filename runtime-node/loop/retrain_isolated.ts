/**
 * `retrain` in a worker thread, for callers that keep serving while it runs (the loop): a
 * training step holds its thread for seconds, which would starve the Kafka heartbeats and the
 * inference pool's callbacks of the serving thread.
 */
import { EdgesegError, type LogRecord } from '../../core/index.js';
import { deserializeError, type SerializedError } from '../../core/error_codec.js';
import { startWorker } from '../../core/node/start_worker.js';
import type { TrainEvent } from '../../trainer/train.js';
import type { RetrainOptions, RetrainResult } from './retrain.js';

export type RetrainWorkerMessage =
  | { type: 'progress'; message: string }
  | { type: 'train'; event: TrainEvent }
  | { type: 'log'; record: LogRecord }
  | { type: 'done'; result: RetrainResult }
  | { type: 'error'; error: SerializedError };

const MODULE = new URL('./retrain_worker.js', import.meta.url);

export function retrainInWorker(o: RetrainOptions): Promise<RetrainResult> {
  const { log, onProgress, onTrainEvent, ...options } = o;
  return new Promise((resolve, reject) => {
    const worker = startWorker(MODULE, { options, logLevel: log?.level ?? 'info' });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: RetrainWorkerMessage) => {
      switch (m.type) {
        case 'progress':
          return onProgress ? onProgress(m.message) : log?.info(m.message);
        case 'train':
          return onTrainEvent?.(m.event);
        case 'log': {
          const { level, msg, time: _time, component: _component, ...fields } = m.record;
          return log?.[level](msg, fields);
        }
        case 'done':
          return settle(() => resolve(m.result));
        case 'error':
          return settle(() => reject(deserializeError(m.error, 'RETRAIN_FAILED')));
      }
    });
    worker.on('error', (err) => settle(() => reject(new EdgesegError('RETRAIN_FAILED', `retrain worker crashed: ${err.message}`, { cause: err }))));
    worker.on('exit', (code) => settle(() => reject(new EdgesegError('RETRAIN_FAILED', `retrain worker exited with code ${code} before reporting a result`))));
  });
}
