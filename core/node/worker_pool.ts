/**
 * A fixed pool of worker_threads running one module (started by start_worker.ts), with
 * request/response messages, transfer lists and errors that cross with core's error codec (name, code, message, retriable, stack). Used for image decoding
 * (trainer) and inference (runtime-node).
 *
 * Jobs go to idle workers one at a time; `broadcast` sends a request to every worker at once
 * (model loads and unloads); a warm-up request, if set, runs on every worker that (re)starts
 * before it takes jobs. Crashed workers are replaced, a bounded number of times.
 */
import { availableParallelism } from 'node:os';
import type { MessagePort, TransferListItem, Worker } from 'node:worker_threads';
import { EdgesegError } from '../index.js';
import { deserializeError, serializeError, type SerializedError } from '../error_codec.js';
import { startWorker } from './start_worker.js';

/** A request message to a pool worker. */
export interface WorkerRequest<Req> {
  id: number;
  request: Req;
}

/** A worker's answer to a WorkerRequest: its result, or the error it threw. */
export type WorkerResponse<Res> = { id: number; ok: true; result: Res } | { id: number; ok: false; error: SerializedError };

/** Crashed workers are replaced, up to this many times per worker slot. */
const RESPAWNS_PER_WORKER = 3;

/** Default pool size: one worker per core, leaving one core to the main thread. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Pending {
  worker: Worker;
  job: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A fixed pool of worker threads running one module; see the file comment. */
export class WorkerPool<Req, Res> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { request: Req; transfer: TransferListItem[]; resolve(v: Res): void; reject(e: Error): void }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busyWorkers = new Set<Worker>();
  private nextId = 1;
  private closed = false;
  private respawnsLeft: number;
  private warmup: Req[] | null = null;

  constructor(
    private readonly moduleUrl: URL,
    readonly size: number = defaultPoolSize(),
    private readonly data?: unknown,
  ) {
    this.respawnsLeft = size * RESPAWNS_PER_WORKER;
    for (let i = 0; i < size; i++) this.spawn();
  }

  /** Requests every new or replacement worker runs, in order, before taking jobs (e.g. "load the models serving now"). */
  setWarmup(request: Req | Req[] | null): void {
    this.warmup = request === null ? null : Array.isArray(request) ? request : [request];
  }

  private spawn(): void {
    const worker = startWorker(this.moduleUrl, this.data);
    let gone = false;
    const crash = (err: Error) => {
      if (gone) return;
      gone = true;
      this.onCrash(worker, err);
    };
    worker.on('message', (msg: WorkerResponse<Res>) => this.onMessage(msg));
    worker.on('error', crash);
    worker.on('exit', (code) => {
      if (!this.closed) crash(new Error(`worker exited with code ${code}`));
    });
    worker.unref();
    this.workers.push(worker);
    if (this.warmup === null) {
      this.makeIdle(worker);
    } else {
      this.busyWorkers.add(worker);
      const warmup = this.warmup;
      warmup.reduce<Promise<unknown>>((prev, req) => prev.then(() => this.post(worker, req, [], false)), Promise.resolve()).then(
        () => this.makeIdle(worker),
        (err) => crash(err as Error),
      );
    }
  }

  private makeIdle(worker: Worker): void {
    if (!this.workers.includes(worker)) return;
    this.busyWorkers.delete(worker);
    this.idle.push(worker);
    this.dispatch();
  }

  /** Keeps the process alive exactly while a worker owes an answer. */
  private updateRef(worker: Worker): void {
    if ([...this.pending.values()].some((p) => p.worker === worker)) worker.ref();
    else worker.unref();
  }

  private post(worker: Worker, request: Req, transfer: TransferListItem[], job: boolean): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, job, resolve, reject });
      worker.ref();
      worker.postMessage({ id, request } satisfies WorkerRequest<Req>, transfer);
    });
  }

  run(request: Req, transfer: TransferListItem[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new EdgesegError('POOL_CLOSED', 'worker pool is closed'));
    if (this.workers.length === 0) return Promise.reject(new EdgesegError('WORKER_CRASHED', 'every worker of the pool has crashed'));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Sends `request` to every live worker, busy or not, and waits for all answers. */
  async broadcast(request: Req): Promise<Res[]> {
    if (this.closed) throw new EdgesegError('POOL_CLOSED', 'worker pool is closed');
    return (await Promise.all(this.workers.map((w) => this.post(w, request, [], false)))) as Res[];
  }

  /** Requests waiting for a worker (not counting those being processed). */
  get queued(): number {
    return this.queue.length;
  }

  /** Workers processing a job. */
  get busy(): number {
    return this.busyWorkers.size;
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busyWorkers.add(worker);
      this.post(worker, job.request, job.transfer, true).then(job.resolve as (v: unknown) => void, job.reject);
    }
  }

  private onMessage(msg: WorkerResponse<Res>): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.updateRef(p.worker);
    if (p.job) this.makeIdle(p.worker);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(deserializeError(msg.error));
  }

  private onCrash(worker: Worker, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(id);
      p.reject(new EdgesegError('WORKER_CRASHED', `worker crashed: ${err.message}`, { retriable: true, cause: err }));
    }
    this.busyWorkers.delete(worker);
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    const j = this.idle.indexOf(worker);
    if (j >= 0) this.idle.splice(j, 1);
    if (this.closed) return;
    if (this.respawnsLeft > 0) {
      this.respawnsLeft--;
      this.spawn();
    } else if (this.workers.length === 0) {
      for (const q of this.queue.splice(0)) q.reject(new EdgesegError('WORKER_CRASHED', 'every worker of the pool has crashed'));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new EdgesegError('POOL_CLOSED', 'worker pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.pending.values()) p.reject(new EdgesegError('POOL_CLOSED', 'worker pool closed'));
    this.pending.clear();
  }
}

/** Worker side: answers each request with `handle`, reporting thrown errors by name and code. */
export function serveWorker<Req, Res>(port: MessagePort, handle: (request: Req) => Promise<{ result: Res; transfer?: TransferListItem[] }>): void {
  port.on('message', async ({ id, request }: WorkerRequest<Req>) => {
    try {
      const { result, transfer } = await handle(request);
      port.postMessage({ id, ok: true, result } satisfies WorkerResponse<Res>, transfer ?? []);
    } catch (err) {
      port.postMessage({ id, ok: false, error: serializeError(err) } satisfies WorkerResponse<Res>);
    }
  });
}
