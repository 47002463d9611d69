/**
 * Watches every consumer the service runs (frames, feedback, models): a consumer that gave up
 * (restarts exhausted, or a non-retriable error) is remembered with its reason, logged, counted
 * in `edgeseg_consumer_up{consumer}` and reported by /healthz and /readyz, instead of the
 * service answering "ok" while one of its doors is shut.
 */
import { type Logger } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import type { StreamMetrics } from './metrics.js';
import type { ConsumerHandle } from '../transport/transport.js';

export type ConsumerName = 'frames' | 'feedback' | 'models';

export class ConsumerWatch {
  private readonly states = new Map<ConsumerName, { failed: string | null }>();

  constructor(
    private readonly metrics: StreamMetrics,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  /** Follows `handle`; `onFail` runs after the failure is recorded (e.g. the frames consumer ends the service). */
  watch(name: ConsumerName, handle: ConsumerHandle, onFail?: (err: Error) => void): void {
    const state = { failed: null as string | null };
    this.states.set(name, state);
    this.metrics.consumerUp.set({ consumer: name }, 1);
    void handle.failed.then((err) => {
      if (this.stopping()) return;
      state.failed = describeError(err);
      this.metrics.consumerUp.set({ consumer: name }, 0);
      this.log.error('consumer gave up', { consumer: name, error: state.failed });
      onFail?.(err);
    });
  }

  /** Names of the consumers that gave up, with their reasons. */
  failures(): Record<string, string> {
    return Object.fromEntries([...this.states].filter(([, s]) => s.failed !== null).map(([n, s]) => [n, s.failed!]));
  }

  /** Every watched consumer: 'running', or 'failed: <reason>'. */
  report(): Record<string, string> {
    return Object.fromEntries([...this.states].map(([n, s]) => [n, s.failed === null ? 'running' : `failed: ${s.failed}`]));
  }
}
