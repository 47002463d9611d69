/**
 * The Segmenter on the calling thread, whichever engines its worker bundles: frames handed to the
 * worker segmenter (module worker over comlink, or this thread), masks wrapped as SegmentationMasks, video
 * streams read here (a video element) or in the worker (MediaStreamTrack, ReadableStream). Each
 * entry point (edgeseg/runtime-web, …/tfjs, …/ort) calls `startSegmenter` with its own worker, so
 * a bundler follows only that worker and its engines.
 */
import { proxy, releaseProxy, transfer, wrap, type Remote } from 'comlink';
import { MaskImpl } from './mask.js';
import { installErrorTransfer, type WorkerSegmenterApi, type WorkerSegmentResult, type PumpReport, type RawMask } from './protocol.js';
import { resolveOptions, type ResolvedSegmenterOptions, type SegmenterOptions } from './segmenter_api.js';
import { type FrameSource, type SegmentationResult, type Segmenter, type SegmenterInfo, type SegmentOptions, type StreamHandle, type VideoSource } from './segmenter_results.js';

/** How an entry point starts its worker segmenter: a module worker (named by the entry, so the bundler follows it), or in this thread. */
export interface EngineSpawn {
  worker(): Worker;
  local(): Promise<WorkerSegmenterApi>;
}

type TrackProcessor = new (init: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> };

class SegmenterImpl implements Segmenter {
  private readonly streams = new Set<StreamHandle>();
  private closed = false;
  private pumps = 0;

  constructor(
    public info: SegmenterInfo,
    private readonly segmenter: WorkerSegmenterApi | Remote<WorkerSegmenterApi>,
    private readonly worker: Worker | null,
    private readonly options: ResolvedSegmenterOptions,
  ) {}

  /**
   * A frame the worker segmenter may own: the caller's ImageBitmap or VideoFrame itself only with
   * `transfer: true` (it is then closed after use); otherwise a copy (a VideoFrame clone, an
   * ImageBitmap of it), so the caller's stays open.
   */
  private async toFrame(source: FrameSource): Promise<ImageBitmap | VideoFrame> {
    if (typeof VideoFrame !== 'undefined' && source instanceof VideoFrame) return this.options.transfer ? source : source.clone();
    if (source instanceof ImageBitmap && this.options.transfer) return source;
    return createImageBitmap(source, { colorSpaceConversion: 'none' });
  }

  private wrap(r: WorkerSegmentResult, t0: number): SegmentationResult {
    // The auto calibration handed over to a faster candidate: refresh the info it reports.
    if (r.candidate !== this.info.choice.chosen) void this.segmenter.getInfo().then((info) => (this.info = info));
    const draw = (raw: RawMask, classIndex: number | null) => {
      const buffers = [raw.ids?.buffer, raw.planes?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      return this.segmenter.maskBitmap(this.worker ? transfer(raw, buffers) : raw, classIndex);
    };
    const { category, confidence, ...rest } = r;
    return {
      ...rest,
      categoryMask: category ? new MaskImpl(category, 'category', null, draw) : null,
      confidenceMasks: confidence ? Array.from({ length: confidence.classes! }, (_, c) => new MaskImpl(confidence, 'confidence', c, draw)) : null,
      timings: { ...r.timings, total: performance.now() - t0 },
    };
  }

  /** Segments a frame the worker segmenter owns (transferred to the worker, closed after use). */
  private async run(frame: ImageBitmap | VideoFrame, t0: number, timestampMs: number | null): Promise<SegmentationResult> {
    if (this.closed) {
      frame.close();
      throw new Error('the segmenter is closed');
    }
    const r = await this.segmenter.segment(this.worker ? transfer(frame, [frame as Transferable]) : frame, { timestampMs });
    return this.wrap(r, t0);
  }

  async segment(source: FrameSource, options: SegmentOptions = {}): Promise<SegmentationResult> {
    const t0 = performance.now();
    // Stamped on this thread (the worker's clock has another origin); a VideoFrame carries its own.
    const isVideoFrame = typeof VideoFrame !== 'undefined' && source instanceof VideoFrame;
    return this.run(await this.toFrame(source), t0, options.timestampMs ?? (isVideoFrame ? null : t0));
  }

  async whenCalibrated(): Promise<SegmenterInfo> {
    this.info = await this.segmenter.whenCalibrated();
    return this.info;
  }

  reset(): Promise<void> {
    return this.segmenter.reset();
  }

  segmentStream(source: VideoSource, onResult: (result: SegmentationResult) => void, onError: (error: Error) => void = (e) => console.error(e)): StreamHandle {
    if (source instanceof HTMLVideoElement) return this.streamVideo(source, onResult, onError);
    if (typeof MediaStreamTrack !== 'undefined' && source instanceof MediaStreamTrack) {
      const Processor = (globalThis as unknown as { MediaStreamTrackProcessor?: TrackProcessor }).MediaStreamTrackProcessor;
      if (Processor) return this.streamFrames(new Processor({ track: source }).readable, onResult, onError);
      // No track processor here (Firefox, Safari): the track plays in a video element of our own.
      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = new MediaStream([source]);
      void video.play().catch((e: Error) => onError(e));
      const handle = this.streamVideo(video, onResult, onError);
      return {
        stats: handle.stats,
        stop: async () => {
          await handle.stop();
          video.srcObject = null;
        },
      };
    }
    return this.streamFrames(source as ReadableStream<VideoFrame>, onResult, onError);
  }

  /** VideoFrames of a stream, read inside the worker (the stream is transferred there) or here without one. */
  private streamFrames(stream: ReadableStream<VideoFrame>, onResult: (result: SegmentationResult) => void, onError: (error: Error) => void): StreamHandle {
    const id = ++this.pumps;
    const stats = { frames: 0, dropped: 0, mainThreadMs: 0 };
    let stopped = false;
    const report = (r: PumpReport) => {
      if (stopped) return;
      const s = performance.now();
      stats.frames++;
      stats.dropped = r.dropped;
      // The frame was taken inside the worker segmenter: its total is that segmenter's own time.
      const t = r.result.timings;
      onResult(this.wrap(r.result, s - (t.preprocess + t.inference + t.readback)));
      stats.mainThreadMs += performance.now() - s;
    };
    const fail = (e: Error) => !stopped && onError(e);
    const running = this.worker
      ? (this.segmenter as Remote<WorkerSegmenterApi>).pump(id, transfer(stream, [stream as unknown as Transferable]), proxy(report), proxy(fail))
      : (this.segmenter as WorkerSegmenterApi).pump(id, stream, report, fail);
    const done = running.catch((e: Error) => fail(e));
    const handle: StreamHandle = {
      stats: () => ({ frames: stats.frames, dropped: stats.dropped, maxWaiting: stats.frames ? 1 : 0, mainThreadMsPerFrame: stats.frames ? stats.mainThreadMs / stats.frames : 0 }),
      stop: async () => {
        stopped = true;
        this.streams.delete(handle);
        await this.segmenter.stopPump(id);
        await done;
      },
    };
    this.streams.add(handle);
    return handle;
  }

  private streamVideo(video: HTMLVideoElement, onResult: (result: SegmentationResult) => void, onError: (error: Error) => void): StreamHandle {
    const stats = { frames: 0, dropped: 0, maxWaiting: 0, mainThreadMs: 0 };
    let inFlight: Promise<void> | null = null;
    // Latest frame wins: while a frame is in flight, newer video frames only mark the one waiting
    // slot (each one replacing the last: a drop); the frame is captured when the slot is served,
    // so it is the newest there is and no capture work is spent on frames that would be dropped.
    let waiting = false;
    let stopped = false;
    let mediaTimeMs: number | null = null;
    const capture = () => {
      const t0 = performance.now();
      const stamp = mediaTimeMs ?? video.currentTime * 1000;
      const bitmap = createImageBitmap(video, { colorSpaceConversion: 'none' });
      stats.mainThreadMs += performance.now() - t0;
      inFlight = bitmap
        .then((b) => this.run(b, t0, stamp))
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
    const onFrame = (_now?: number, meta?: { mediaTime: number }) => {
      if (stopped) return;
      if (meta) mediaTimeMs = meta.mediaTime * 1000;
      schedule();
      if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) return;
      if (!inFlight) return capture();
      if (waiting) stats.dropped++;
      waiting = true;
      stats.maxWaiting = Math.max(stats.maxWaiting, 1);
    };
    const schedule = () => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
      else requestAnimationFrame(() => onFrame());
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
    return this.segmenter.memory();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.streams].map((s) => s.stop()));
    this.closed = true;
    await this.segmenter.dispose();
    if (this.worker) {
      (this.segmenter as Remote<WorkerSegmenterApi>)[releaseProxy]();
      this.worker.terminate();
    }
  }
}

/**
 * Starts a segmenter on the worker segmenter `spawn` makes. Resolves when the model is loaded, checked
 * against SHA256SUMS and the contract, and warmed up; rejects with a named error otherwise (a
 * missing file, a checksum mismatch naming the file, a contract mismatch, or every backend's
 * reason), or with the signal's reason when `options.signal` aborts first (the worker is ended).
 */
export async function startSegmenter(options: SegmenterOptions, spawn: EngineSpawn): Promise<Segmenter> {
  const o = resolveOptions(options);
  options.signal?.throwIfAborted();
  let segmenter: WorkerSegmenterApi | Remote<WorkerSegmenterApi>;
  let worker: Worker | null = null;
  if (o.worker) {
    installErrorTransfer();
    worker = spawn.worker();
    segmenter = wrap<WorkerSegmenterApi>(worker);
  } else {
    segmenter = await spawn.local();
  }
  const onProgress = options.onProgress && (worker ? proxy(options.onProgress) : options.onProgress);
  const init = segmenter.init(o, onProgress);
  const signal = options.signal;
  const aborted = signal && new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  try {
    const info = await (aborted ? Promise.race([init, aborted]) : init);
    return new SegmenterImpl(info, segmenter, worker, o);
  } catch (err) {
    if (worker) worker.terminate();
    // On this thread the loading cannot be cut short: what it made is released when it ends.
    else void init.then(() => segmenter.dispose(), () => {});
    throw err;
  }
}
