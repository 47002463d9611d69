/**
 * The inference pool of runtime-node: worker threads (one per core by default), each
 * running the model in ONNX Runtime when the version has an ONNX file (`engine: 'auto'`) or in
 * tfjs-wasm (single-threaded in Node); a Triton-style micro-batcher (max batch, max wait) in
 * front of it, and hot swap: a new model version is verified, loaded into every
 * worker beside the old one, switched to atomically, and the old one is unloaded once no batch
 * uses it. A version that fails verification or loading is refused and the old one keeps serving.
 * During a rollout a second version, the canary, is loaded beside the active one and serves the
 * frames whose route key (sensor id) hashes onto its arm (core/rollout.ts).
 */
import { ConfigError, ENGINE_KINDS, type EngineChoice, type EngineRequest, type ModelCard } from '../../core/index.js';
import { isOnnxOnly, onnxFileOf } from '../../core/artifacts.js';
import { chooseEngine } from '../../core/engine_choice.js';
import { DEFAULT_ORT_THREADS } from '../../core/ort_runner.js';
import { armOf, checkWeight, type Arm } from '../../core/rollout.js';
import { readModelDir } from '../../core/node/artifact_fs.js';
import { defaultPoolSize, WorkerPool } from '../../core/node/worker_pool.js';
import type { FrameInput, FrameOutcome, InferenceRequest, InferenceResponse, InferenceWorkerData, InferOptions } from './protocol.js';

export type { EngineChoice, EngineRequest } from '../../core/index.js';

/** The `engine` option's values. */
export const ENGINES = ['auto', ...ENGINE_KINDS] as const;

/** ONNX Runtime execution providers runtime-node can use. */
export const ORT_PROVIDERS = ['cpu', 'cuda'] as const;
/** One of ORT_PROVIDERS. */
export type OrtProvider = (typeof ORT_PROVIDERS)[number];

/** tfjs backends of the inference workers. */
export const POOL_BACKENDS = ['wasm', 'cpu'] as const;

/**
 * How an InferencePool runs: workers, backend, engine and batching. The stream service takes
 * these fields as they are (StreamOptions picks them), so their defaults are POOL_DEFAULTS alone.
 */
export interface PoolSettings {
  /** Worker threads. @default defaultPoolSize(): one per core, minus one for the Kafka loop (at least 1) */
  workers?: number;
  /** tfjs backend for preprocessing, statistics and the tfjs engine. @default POOL_DEFAULTS.backend ('wasm') */
  backend?: (typeof POOL_BACKENDS)[number];
  /**
   * What runs the model: `ort` (onnxruntime-node on the version's ONNX file), `tfjs`, or `auto`:
   * ONNX Runtime when the version has an ONNX file, else tfjs. Resolved again at every swap.
   * @default POOL_DEFAULTS.engine ('auto')
   */
  engine?: EngineRequest;
  /**
   * ONNX Runtime intra-op threads per worker session. One session per worker, one thread each,
   * beat one worker with a thread per core on 2 cores: 47.9 vs 34.9 frames/s for unet-small
   * through the whole frame path (bench:engines): decode, preprocessing and statistics run in the
   * worker too, and only the model call would use the extra threads. @default POOL_DEFAULTS.ortThreads (DEFAULT_ORT_THREADS, 1)
   */
  ortThreads?: number;
  /**
   * ONNX Runtime execution provider. `cuda` needs onnxruntime-node's CUDA binaries, which the
   * default install skips (see the README). @default POOL_DEFAULTS.ortProvider ('cpu')
   */
  ortProvider?: OrtProvider;
  /** Frames per model call. @default POOL_DEFAULTS.maxBatch (1: batching barely helps single-threaded wasm; raise it for GPU backends) */
  maxBatch?: number;
  /** Longest a frame waits for its batch to fill. @default POOL_DEFAULTS.maxWaitMs (0 ms) */
  maxWaitMs?: number;
}

/** Everything InferencePool.start takes: its settings and what each frame's inference produces. */
export interface InferencePoolOptions extends PoolSettings {
  infer: InferOptions;
}

/** The defaults of PoolSettings (workers aside: defaultPoolSize() depends on the machine), written once; the stream service and the CLI read them here. */
export const POOL_DEFAULTS = {
  backend: 'wasm',
  engine: 'auto',
  ortThreads: DEFAULT_ORT_THREADS,
  ortProvider: 'cpu',
  maxBatch: 1,
  maxWaitMs: 0,
} as const satisfies Required<Omit<PoolSettings, 'workers'>>;

/** PoolSettings with every default filled in. */
export type ResolvedPoolSettings = Required<PoolSettings>;

/** Fills in every default of `o` and checks each value; throws a ConfigError naming the option. */
export function resolvePoolSettings(o: PoolSettings): ResolvedPoolSettings {
  const r: ResolvedPoolSettings = {
    workers: o.workers ?? defaultPoolSize(),
    backend: o.backend ?? POOL_DEFAULTS.backend,
    engine: o.engine ?? POOL_DEFAULTS.engine,
    ortThreads: o.ortThreads ?? POOL_DEFAULTS.ortThreads,
    ortProvider: o.ortProvider ?? POOL_DEFAULTS.ortProvider,
    maxBatch: o.maxBatch ?? POOL_DEFAULTS.maxBatch,
    maxWaitMs: o.maxWaitMs ?? POOL_DEFAULTS.maxWaitMs,
  };
  if (!(r.maxBatch >= 1 && Number.isInteger(r.maxBatch))) throw new ConfigError(`maxBatch must be an integer ≥ 1, got ${r.maxBatch}`);
  if (!(r.maxWaitMs >= 0)) throw new ConfigError(`maxWaitMs must be ≥ 0, got ${r.maxWaitMs}`);
  if (!(ENGINES as readonly string[]).includes(r.engine)) throw new ConfigError(`engine must be one of ${ENGINES.join('|')}, got '${r.engine}'`);
  if (!(Number.isInteger(r.ortThreads) && r.ortThreads >= 1)) throw new ConfigError(`ortThreads must be an integer ≥ 1, got ${r.ortThreads}`);
  if (!(ORT_PROVIDERS as readonly string[]).includes(r.ortProvider)) throw new ConfigError(`ortProvider must be one of ${ORT_PROVIDERS.join('|')}, got '${r.ortProvider}'`);
  return r;
}

/** The model version an InferencePool serves now. */
export interface ActiveModel {
  key: string;
  dir: string;
  /** `<name>@<version>`, written into every result. */
  version: string;
  card: ModelCard;
  /** What runs it, and why. */
  engine: EngineChoice;
}

/** The engine a version runs in under `requested`; throws naming the fix when it cannot. */
export function resolveEngine(requested: EngineRequest, card: ModelCard, dir: string, ortProvider: OrtProvider = 'cpu'): EngineChoice {
  const { chosen, reason } = chooseEngine(requested, { tfjs: !isOnnxOnly(card), onnx: onnxFileOf(card), where: dir });
  return { requested, chosen, provider: chosen === 'ort' ? ortProvider : null, reason, measuredMs: null, fromCache: false };
}

/** The canary arm of a rollout: a second version beside the active one, serving `weight` percent of route keys. */
export interface CanaryModel extends ActiveModel {
  weight: number;
  /** Salt of the routing hash: `<name>@<canary version>` (the same one every runtime uses). */
  salt: string;
}

/** A frame's outcome with the version that made it and the arm that version served. */
/** A frame's outcome with the version and arm that served it, and that version's class names (its card's, one per `classCoverage` entry). */
export type ServedOutcome = FrameOutcome & { modelVersion: string; arm: Arm; classes: readonly string[] };

interface Waiting {
  frame: FrameInput;
  /** Sensor id or other stable key that picks the arm during a rollout; without one the champion serves. */
  routeKey?: string;
  resolve(o: ServedOutcome): void;
  reject(e: Error): void;
}

/** A pool of inference worker threads serving one model version, micro-batching frames and hot-swapping versions without dropping a frame. */
export class InferencePool {
  private readonly workerPool: WorkerPool<InferenceRequest, InferenceResponse>;
  private readonly settings: ResolvedPoolSettings;
  private active: ActiveModel | null = null;
  private canaryModel: CanaryModel | null = null;
  private readonly inFlight = new Map<string, number>();
  private readonly retiring = new Set<string>();
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private nextKey = 1;
  readonly maxBatch: number;
  readonly maxWaitMs: number;

  private constructor(private readonly options: InferencePoolOptions) {
    this.settings = resolvePoolSettings(options);
    const { workers, backend, ortThreads, ortProvider, maxBatch, maxWaitMs } = this.settings;
    this.maxBatch = maxBatch;
    this.maxWaitMs = maxWaitMs;
    const data: InferenceWorkerData = { backend, ortThreads, ortProvider };
    this.workerPool = new WorkerPool(new URL('./inference_worker.js', import.meta.url), workers, data);
  }

  /** Starts the workers and loads (verifies, warms) the first model. */
  static async start(dir: string, options: InferencePoolOptions): Promise<InferencePool> {
    const pool = new InferencePool(options);
    try {
      await pool.swap(dir);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get model(): ActiveModel {
    return this.active!;
  }

  get workers(): number {
    return this.workerPool.size;
  }

  /** Frames waiting for a worker or for their batch to fill. */
  get queueDepth(): number {
    return this.waiting.length + this.workerPool.queued;
  }

  /**
   * Switches to the model in `dir`. Verification (checksums, manifest, contract) and loading in
   * every worker happen before the switch; if either fails, the error is thrown and the current
   * model keeps serving.
   */
  async swap(dir: string): Promise<ActiveModel> {
    const loaded = await this.load(dir);
    const previous = this.active;
    this.active = loaded;
    this.setWarmup();
    if (previous) await this.retire(previous.key);
    return this.active;
  }

  /** The canary serving beside the active model, or null. */
  get canary(): CanaryModel | null {
    return this.canaryModel;
  }

  /**
   * Serves the model in `dir` to `weight` percent of route keys beside the active model (a
   * rollout's canary), or stops serving a canary (`dir` null). A new canary is verified and loaded
   * in every worker before any frame goes to it; a refused one throws and nothing changes. The
   * canary it replaces is unloaded once its frames are done.
   */
  async setCanary(dir: string | null, weight = 0): Promise<CanaryModel | null> {
    const previous = this.canaryModel;
    if (dir === null) {
      this.canaryModel = null;
    } else if (previous && previous.dir === dir) {
      this.canaryModel = { ...previous, weight: checkWeight(weight) };
      return this.canaryModel;
    } else {
      checkWeight(weight);
      const loaded = await this.load(dir);
      this.canaryModel = { ...loaded, weight, salt: loaded.version };
    }
    this.setWarmup();
    if (previous) await this.retire(previous.key);
    return this.canaryModel;
  }

  /** The arm a route key is on now (the champion when no canary serves). */
  armOf(routeKey: string): Arm {
    const c = this.canaryModel;
    return c ? armOf(routeKey, c.weight, c.salt) : 'champion';
  }

  private async load(dir: string): Promise<ActiveModel> {
    const verified = await readModelDir(dir);
    const engine = resolveEngine(this.settings.engine, verified.card, verified.dir, this.settings.ortProvider);
    const key = `m${this.nextKey++}`;
    try {
      await this.workerPool.broadcast({ type: 'load', key, dir: verified.dir, engine: engine.chosen });
    } catch (err) {
      await this.workerPool.broadcast({ type: 'unload', key }).catch(() => {});
      throw err;
    }
    return { key, dir: verified.dir, version: `${verified.card.name}@${verified.card.version}`, card: verified.card, engine };
  }

  /** Replacement workers come up with the models serving now. */
  private setWarmup(): void {
    this.workerPool.setWarmup([this.active, this.canaryModel].filter((m) => m !== null).map((m) => ({ type: 'load' as const, key: m.key, dir: m.dir, engine: m.engine.chosen })));
  }

  private async retire(key: string): Promise<void> {
    if (key === this.active?.key || key === this.canaryModel?.key) return;
    this.retiring.add(key);
    await this.retireIfIdle(key);
  }

  private async retireIfIdle(key: string): Promise<void> {
    if (!this.retiring.has(key) || (this.inFlight.get(key) ?? 0) > 0) return;
    this.retiring.delete(key);
    await this.workerPool.broadcast({ type: 'unload', key });
  }

  /**
   * Segments one frame with the active model, or with the canary when `routeKey` falls on the
   * canary's arm (the arm is chosen when the frame is dispatched); resolves with the version that
   * produced it and its arm.
   */
  infer(frame: FrameInput, routeKey?: string): Promise<ServedOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ frame, routeKey, resolve, reject });
      if (this.waiting.length >= this.maxBatch || this.maxWaitMs === 0) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A batch runs one model: frames are grouped by the arm they fall on.
    const arms = new Map<Arm, Waiting[]>();
    for (const w of this.waiting.splice(0)) {
      const arm = w.routeKey === undefined ? 'champion' : this.armOf(w.routeKey);
      arms.set(arm, [...(arms.get(arm) ?? []), w]);
    }
    for (const [arm, waiting] of arms) {
      for (let i = 0; i < waiting.length; i += this.maxBatch) this.dispatch(waiting.slice(i, i + this.maxBatch), arm);
    }
  }

  private dispatch(batch: Waiting[], arm: Arm): void {
    const model = arm === 'canary' ? this.canaryModel! : this.active!;
    this.inFlight.set(model.key, (this.inFlight.get(model.key) ?? 0) + 1);
    // Copy: the caller's bytes may be a view into a larger (Kafka or file) buffer, which a transfer would detach.
    const frames = batch.map((w) => ({ ...w.frame, bytes: new Uint8Array(w.frame.bytes) }));
    this.workerPool
      .run({ type: 'infer', key: model.key, frames, options: this.options.infer }, frames.map((f) => f.bytes.buffer as ArrayBuffer))
      .then(
        (res) => {
          const outcomes = (res as Extract<InferenceResponse, { type: 'infer' }>).outcomes;
          batch.forEach((w, i) => w.resolve({ ...outcomes[i], modelVersion: model.version, arm, classes: model.card.contract.classes }));
        },
        (err: Error) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight.set(model.key, this.inFlight.get(model.key)! - 1);
        void this.retireIfIdle(model.key);
      });
  }

  /** tf.memory() of each worker (for leak checks). */
  async memory(): Promise<{ numTensors: number; numBytes: number; models: string[] }[]> {
    return (await this.workerPool.broadcast({ type: 'memory' })) as Extract<InferenceResponse, { type: 'memory' }>[];
  }

  async close(): Promise<void> {
    this.flush();
    await this.workerPool.close();
  }
}
