/**
 * A stream of VideoFrames read where the engine runs (inside the worker when the stream could be
 * transferred there), latest frame first: while one frame is segmented, a newer one replaces the
 * one waiting, which is closed and counted as dropped. Bounded: one frame in flight, one waiting.
 */
import type { PumpReport } from './protocol.js';

export class FramePump {
  private readonly stops = new Map<number, () => void>();

  /** Reads `stream` until it ends or `stop(id)`; `segment` owns (and closes) each frame it gets. */
  async run(
    id: number,
    stream: ReadableStream<VideoFrame>,
    segment: (frame: VideoFrame) => Promise<PumpReport['result']>,
    onReport: (r: PumpReport) => void | Promise<void>,
    onError: (e: Error) => void,
  ): Promise<void> {
    const reader = stream.getReader();
    let waiting: VideoFrame | null = null;
    let dropped = 0;
    let stopped = false;
    let serving: Promise<void> | null = null;
    const serve = async () => {
      while (waiting && !stopped) {
        const frame = waiting;
        waiting = null;
        try {
          const result = await segment(frame);
          if (!stopped) await onReport({ result, dropped });
        } catch (err) {
          if (!stopped) onError(err instanceof Error ? err : new Error(String(err)));
        }
      }
      serving = null;
    };
    this.stops.set(id, () => {
      stopped = true;
      void reader.cancel().catch(() => {});
    });
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) {
          value?.close();
          break;
        }
        if (waiting) {
          waiting.close();
          dropped++;
        }
        waiting = value;
        serving ??= serve();
      }
    } catch (err) {
      if (!stopped) onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.stops.delete(id);
      await serving;
      (waiting as VideoFrame | null)?.close();
      reader.releaseLock();
    }
  }

  stop(id: number): void {
    this.stops.get(id)?.();
  }
}
