/**
 * The few functions of onnxruntime's C API that the wasm trainer's convolutions need, called
 * through koffi (a foreign-function interface whose binaries ship inside its npm package) on the
 * `libonnxruntime` that onnxruntime-node ships. Why not onnxruntime-node's own binding: its `run`
 * returns every output as a copy in a new ArrayBuffer, even a pre-allocated one. A training step
 * of unet-mobilenetv2 made 88 MB of such copies per replica, and V8's collector threads spent
 * 250–330 CPU-ms per step freeing them, on the cores the replicas needed. Here the inputs and the
 * output are OrtValues over the wasm heap's own bytes, and nothing is copied or allocated per call
 * but the OrtValue headers.
 *
 * - The OrtApi table is read by index (its fields are append-only across versions; indices from
 *   onnxruntime_c_api.h): GetErrorMessage 2, CreateEnv 3, CreateSessionFromArray 8, Run 9,
 *   CreateSessionOptions 10, SetSessionExecutionMode 13, DisableMemPattern 17, DisableCpuMemArena
 *   19, SetSessionLogSeverityLevel 22, SetSessionGraphOptimizationLevel 23, SetIntraOpNumThreads
 *   24, SetInterOpNumThreads 25, CreateTensorWithDataAsOrtValue 49, CreateCpuMemoryInfo 69,
 *   ReleaseStatus 93, ReleaseValue 96, ReleaseSessionOptions 100. API version 20 (onnxruntime
 *   1.20) or newer is asked for.
 * - A tensor's address is the heap's base address plus the tensor's byte offset. The base is
 *   found once per heap buffer by calling libc's `memmove(p, p, 0)`, which returns `p` (a grown
 *   wasm memory gets a new ArrayBuffer, so the base is looked up again when the buffer changes).
 * - An OrtValue made over the heap lives only inside one call: no wasm allocation happens between
 *   its creation and its release, so the bytes it points at cannot move.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

type Fn = (...args: unknown[]) => unknown;

interface Api {
  check(status: unknown, what: string): void;
  createSession(model: Uint8Array, options: SessionSettings): unknown;
  createTensor(address: number, bytes: number, shape: BigInt64Array): unknown;
  run: Fn;
  releaseValue: Fn;
  baseOf(buffer: ArrayBufferLike): number;
}

/** The session options the wasm kernels' graphs are built with. */
export interface SessionSettings {
  intraOpThreads: number;
  /** GraphOptimizationLevel: 0 none, 1 basic, 2 extended, 99 all. */
  graphOptimizationLevel: number;
  /** 3 = errors only. */
  logSeverityLevel: number;
}

const ORT_API_VERSION = 20;
const FLOAT = 1;

/** The library file in onnxruntime-node's bin folder for this platform, or null. */
function libraryPath(): string | null {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('onnxruntime-node/package.json'));
  const bin = join(root, 'bin');
  if (!existsSync(bin)) return null;
  for (const napi of readdirSync(bin)) {
    const dir = join(bin, napi, process.platform, process.arch);
    if (!existsSync(dir)) continue;
    const lib = readdirSync(dir).find((f) => /^(lib)?onnxruntime(\.\d+)*\.(so(\.\d+)*|dylib|dll)$/.test(f));
    if (lib) return join(dir, lib);
  }
  return null;
}

function libcPath(): string | null {
  if (process.platform === 'linux') return 'libc.so.6';
  if (process.platform === 'darwin') return 'libSystem.B.dylib';
  if (process.platform === 'win32') return 'msvcrt.dll';
  return null;
}

let api: Api | null | undefined;

function open(): Api | null {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const path = libraryPath();
  const libc = libcPath();
  if (!path || !libc) return null;
  const lib = koffi.load(path);
  const memmove = koffi.load(libc).func('uint64_t memmove(void *dst, void *src, size_t n)') as Fn;
  const apiBase = (lib.func('void *OrtGetApiBase()') as Fn)();
  const [getApi] = koffi.decode(apiBase, koffi.array('void *', 2, 'Array')) as unknown[];
  const table = koffi.call(getApi, koffi.proto('void *OrtGetApi(uint32_t version)'), ORT_API_VERSION);
  if (!table) return null;
  const entries = koffi.decode(table, koffi.array('void *', 101, 'Array')) as unknown[];
  const fn = (index: number, signature: string): Fn => koffi.decode(entries[index], koffi.proto(signature)) as Fn;

  const getErrorMessage = fn(2, 'const char *GetErrorMessage(void *status)');
  const releaseStatus = fn(93, 'void ReleaseStatus(void *status)');
  const check = (status: unknown, what: string): void => {
    if (!status) return;
    const message = getErrorMessage(status) as string;
    releaseStatus(status);
    throw new Error(`onnxruntime ${what}: ${message}`);
  };
  const createEnv = fn(3, 'void *CreateEnv(int level, const char *id, _Out_ void **out)');
  const createSessionFromArray = fn(8, 'void *CreateSessionFromArray(void *env, const void *data, size_t length, void *options, _Out_ void **out)');
  const run = fn(9, 'void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, const char **outputNames, size_t outputCount, void **outputs)');
  const createSessionOptions = fn(10, 'void *CreateSessionOptions(_Out_ void **out)');
  const setExecutionMode = fn(13, 'void *SetSessionExecutionMode(void *options, int mode)');
  const disableMemPattern = fn(17, 'void *DisableMemPattern(void *options)');
  const disableCpuMemArena = fn(19, 'void *DisableCpuMemArena(void *options)');
  const setLogSeverity = fn(22, 'void *SetSessionLogSeverityLevel(void *options, int level)');
  const setOptimization = fn(23, 'void *SetSessionGraphOptimizationLevel(void *options, int level)');
  const setIntraOp = fn(24, 'void *SetIntraOpNumThreads(void *options, int n)');
  const setInterOp = fn(25, 'void *SetInterOpNumThreads(void *options, int n)');
  // The data pointer is declared as an integer: it is an address inside the wasm heap.
  const createTensor = fn(49, 'void *CreateTensorWithDataAsOrtValue(void *info, uint64_t data, size_t length, const int64_t *shape, size_t rank, int type, _Out_ void **out)');
  const createCpuMemoryInfo = fn(69, 'void *CreateCpuMemoryInfo(int allocator, int memType, _Out_ void **out)');
  const releaseValue = fn(96, 'void ReleaseValue(void *value)');
  const releaseSessionOptions = fn(100, 'void ReleaseSessionOptions(void *options)');

  const out: unknown[] = [null];
  check(createEnv(3, 'edgeseg', out), 'CreateEnv');
  const env = out[0];
  check(createCpuMemoryInfo(0 /* OrtDeviceAllocator */, 0 /* OrtMemTypeDefault */, out), 'CreateCpuMemoryInfo');
  const cpu = out[0];

  const bases = new WeakMap<ArrayBufferLike, number>();
  return {
    check,
    run,
    releaseValue,
    createSession(model, o) {
      check(createSessionOptions(out), 'CreateSessionOptions');
      const options = out[0];
      try {
        check(setIntraOp(options, o.intraOpThreads), 'SetIntraOpNumThreads');
        check(setInterOp(options, 1), 'SetInterOpNumThreads');
        check(setExecutionMode(options, 0 /* sequential */), 'SetSessionExecutionMode');
        check(setOptimization(options, o.graphOptimizationLevel), 'SetSessionGraphOptimizationLevel');
        check(disableCpuMemArena(options), 'DisableCpuMemArena');
        check(disableMemPattern(options), 'DisableMemPattern');
        check(setLogSeverity(options, o.logSeverityLevel), 'SetSessionLogSeverityLevel');
        check(createSessionFromArray(env, model, model.byteLength, options, out), 'CreateSessionFromArray');
        return out[0];
      } finally {
        releaseSessionOptions(options);
      }
    },
    createTensor(address, bytes, shape) {
      check(createTensor(cpu, address, bytes, shape, shape.length, FLOAT, out), 'CreateTensorWithDataAsOrtValue');
      return out[0];
    },
    baseOf(buffer) {
      let base = bases.get(buffer);
      if (base === undefined) {
        const view = new Uint8Array(buffer, 0, 0);
        base = Number(memmove(view, view, 0));
        bases.set(buffer, base);
      }
      return base;
    },
  };
}

function loaded(): Api | null {
  if (api === undefined) {
    try {
      api = open();
    } catch {
      api = null;
    }
  }
  return api;
}

/** Whether onnxruntime's C API can be reached on this machine (koffi and onnxruntime-node's library load). */
export function ortApiAvailable(): boolean {
  return loaded() !== null;
}

/** A float32 tensor in memory JS can see: the bytes of `view` read as `shape`. */
export interface HeapTensor {
  view: Float32Array;
  shape: readonly number[];
}

/** A session of one graph, run on tensors in place. */
export class OrtSession {
  private readonly api: Api;
  private readonly handle: unknown;
  private readonly inputNames: string[];
  private readonly outputNames: string[];

  constructor(model: Uint8Array, settings: SessionSettings, inputNames: string[], outputNames: string[]) {
    const a = loaded();
    if (!a) throw new Error('onnxruntime is not available on this machine (koffi or onnxruntime-node’s library did not load)');
    this.api = a;
    this.handle = a.createSession(model, settings);
    this.inputNames = inputNames;
    this.outputNames = outputNames;
  }

  /** Runs the graph with `inputs` (in `inputNames` order) and writes its outputs into `outputs`' bytes. */
  run(inputs: HeapTensor[], outputs: HeapTensor[]): void {
    const values: unknown[] = [];
    try {
      for (const t of [...inputs, ...outputs]) {
        const address = this.api.baseOf(t.view.buffer) + t.view.byteOffset;
        values.push(this.api.createTensor(address, t.view.byteLength, BigInt64Array.from(t.shape, (d) => BigInt(d))));
      }
      const n = inputs.length;
      this.api.check(
        this.api.run(this.handle, null, this.inputNames, values.slice(0, n), n, this.outputNames, outputs.length, values.slice(n)),
        'Run',
      );
    } finally {
      for (const v of values) this.api.releaseValue(v);
    }
  }
}
