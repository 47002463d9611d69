/**
 * The one way edgeseg starts a worker thread. Callers name the worker's module as the JavaScript
 * file beside them, `new URL('./x.js', import.meta.url)`, which readers, tools and bundlers can
 * follow, and which is the real file in the compiled package (plain node, no loader).
 *
 * In a checkout, run from TypeScript source through tsx, that `.js` file does not exist: its
 * `.ts` source does. Node 20 workers do not inherit the parent's module hooks, so the worker then
 * starts in `worker_bootstrap.js`, which registers tsx in the new thread and imports the source.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { EdgesegError } from '../errors.js';

/** Entry of source-mode workers: registers the TypeScript loader, then imports the module. */
const BOOTSTRAP = new URL('./worker_bootstrap.js', import.meta.url);

/** What every edgeseg worker finds in `workerData`: its module's URL and the caller's data. */
export interface EdgesegWorkerData<T = unknown> {
  module: string;
  data: T;
}

/**
 * The file a worker runs for `moduleUrl` (`./x.js` beside the caller): the compiled `.js` file
 * when it exists, else its `.ts` source started through the tsx bootstrap. Throws
 * `WORKER_MODULE_MISSING` when neither exists.
 */
export function workerEntry(moduleUrl: URL): { entry: URL; module: URL; viaLoader: boolean } {
  if (existsSync(fileURLToPath(moduleUrl))) return { entry: moduleUrl, module: moduleUrl, viaLoader: false };
  const source = new URL(moduleUrl.href.replace(/\.js$/, '.ts'));
  if (source.href !== moduleUrl.href && existsSync(fileURLToPath(source))) return { entry: BOOTSTRAP, module: source, viaLoader: true };
  throw new EdgesegError('WORKER_MODULE_MISSING', `worker module ${fileURLToPath(moduleUrl)} not found (nor its TypeScript source)`);
}

/**
 * Starts a worker thread running `moduleUrl` (name it `new URL('./x.js', import.meta.url)`), with
 * `data` as `workerData.data`. Other `Worker` options (resource limits, env, …) pass through.
 */
export function startWorker<T>(moduleUrl: URL, data: T, options: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  const { entry, module } = workerEntry(moduleUrl);
  return new Worker(entry, { ...options, workerData: { module: module.href, data } satisfies EdgesegWorkerData<T> });
}
