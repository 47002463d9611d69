/**
 * createSegmenter: resolves once the model is loaded, verified and warm, in a module worker
 * (comlink; frames cross as transferred ImageBitmaps) or on the calling thread.
 */
import { releaseProxy, transfer, wrap, type Remote } from 'comlink';
import { installErrorTransfer, type EngineApi } from './protocol.js';
import {
  resolveOptions,
  type FrameSource,
  type SegmentationResult,
  type Segmenter,
  type SegmenterInfo,
  type SegmenterOptions,
  type StreamHandle,
} from './segmenter.js';

/**
 * An ImageBitmap or VideoFrame crosses as it is (transferred); any other source is decoded to an
 * ImageBitmap the contract's way (no colour-space conversion).
 */
function toFrame(source: FrameSource): Promise<ImageBitmap | VideoFrame> {
  if (source instanceof ImageBitmap || (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame)) return Promise.resolve(source);
  return createImageBitmap(source, { colorSpaceConversion: 'none' });
}

class SegmenterImpl implements Segmenter {
  private readonly streams = new Set<StreamHandle>();
  private closed = false;

  constructor(
    public info: SegmenterInfo,
    private readonly engine: EngineApi | Remote<EngineApi>,
    private readonly worker: Worker | null,
  ) {}

  /** Segments an ImageBitmap or VideoFrame, which is handed over (transferred to the worker, closed after use). */
  private async run(frame: ImageBitmap | VideoFrame, t0: number): Promise<SegmentationResult> {
    if (this.closed) {
      frame.close();
      throw new Error('the segmenter is closed');
    }
    const r = await this.engine.segment(this.worker ? transfer(frame, [frame as Transferable]) : frame);
    // The auto calibration handed over to a faster candidate: refresh the info it reports.
    if (r.candidate !== this.info.choice.chosen) void this.engine.getInfo().then((info) => (this.info = info));
    return { ...r, timings: { ...r.timings, total: performance.now() - t0 } };
  }

  /** An ImageBitmap or VideoFrame passed in is transferred and closed; other sources are left untouched. */
  async segment(source: FrameSource): Promise<SegmentationResult> {
    const t0 = performance.now();
    return this.run(await toFrame(source), t0);
  }

  async whenCalibrated(): Promise<SegmenterInfo> {
    this.info = await this.engine.whenCalibrated();
    return this.info;
  }

  segmentStream(video: HTMLVideoElement, onResult: (result: SegmentationResult) => void, onError: (error: Error) => void = (e) => console.error(e)): StreamHandle {
    const stats = { frames: 0, dropped: 0, maxWaiting: 0, mainThreadMs: 0 };
    let inFlight: Promise<void> | null = null;
    // Latest frame wins: while a frame is in flight, newer video frames only mark the one waiting
    // slot (each one replacing the last: a drop); the frame is captured when the slot is served,
    // so it is the newest there is and no capture work is spent on frames that would be dropped.
    let waiting = false;
    let stopped = false;
    const capture = () => {
      const t0 = performance.now();
      const bitmap = createImageBitmap(video, { colorSpaceConversion: 'none' });
      stats.mainThreadMs += performance.now() - t0;
      inFlight = bitmap
        .then((b) => this.run(b, t0))
        .then(
          (r) => {
            stats.frames++;
            const s = performance.now();
            onResult(r);
            stats.mainThreadMs += performance.now() - s;
          },
          (e: Error) => onError(e),
        )
        .finally(() => {
          inFlight = null;
          if (waiting && !stopped) {
            waiting = false;
            capture();
          }
        });
    };
    const onFrame = () => {
      if (stopped) return;
      schedule();
      if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) return;
      if (!inFlight) return capture();
      if (waiting) stats.dropped++;
      waiting = true;
      stats.maxWaiting = Math.max(stats.maxWaiting, 1);
    };
    const schedule = () => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
      else requestAnimationFrame(onFrame);
    };
    schedule();
    const handle: StreamHandle = {
      stats: () => ({ frames: stats.frames, dropped: stats.dropped, maxWaiting: stats.maxWaiting, mainThreadMsPerFrame: stats.frames ? stats.mainThreadMs / stats.frames : 0 }),
      stop: async () => {
        stopped = true;
        this.streams.delete(handle);
        await inFlight;
      },
    };
    this.streams.add(handle);
    return handle;
  }

  memory(): Promise<{ numTensors: number; numBytes: number }> {
    return this.engine.memory();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.streams].map((s) => s.stop()));
    this.closed = true;
    await this.engine.dispose();
    if (this.worker) {
      (this.engine as Remote<EngineApi>)[releaseProxy]();
      this.worker.terminate();
    }
  }
}

/**
 * Creates a segmenter. Resolves when the model is loaded, checked against SHA256SUMS and the
 * contract, and warmed up on the chosen backend; rejects with a named error otherwise (a missing
 * file, a checksum mismatch naming the file, a contract mismatch, or every backend's reason).
 */
export async function createSegmenter(options: SegmenterOptions): Promise<Segmenter> {
  const o = resolveOptions(options);
  let engine: EngineApi | Remote<EngineApi>;
  let worker: Worker | null = null;
  if (o.worker) {
    installErrorTransfer();
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'edgeseg-runtime' });
    engine = wrap<EngineApi>(worker);
  } else {
    const { Engine } = await import('./engine.js');
    engine = new Engine();
  }
  try {
    const info = await engine.init(o);
    return new SegmenterImpl(info, engine, worker);
  } catch (err) {
    worker?.terminate();
    throw err;
  }
}
