/**
 * Runs a small ONNX graph in onnxruntime-node, synchronously, on tensors of tfjs' wasm heap: the
 * way the wasm trainer hands its large convolutions to onnxruntime's MLAS, which runs them with
 * the CPU's own vector width (AVX2/AVX-512 FMA) where the wasm module is held to 128-bit SIMD
 * without FMA.
 *
 * - **Synchronous.** tfjs kernels must return their output. onnxruntime-node's public
 *   `session.run` is a promise, but it only defers a call of the native binding's `run`, which is
 *   synchronous (onnxruntime-node/dist/backend.js); this module calls the binding directly.
 * - **On the heap.** Inputs are fed as Float32Array views of the wasm heap; the output is a tfjs
 *   tensor allocated first and fetched into as a pre-allocated ORT output, so MLAS reads and
 *   writes the heap itself. A view may shape the same bytes differently (an NHWC tensor as a
 *   [N·H·W, C] matrix). The binding (1.30) still returns a copy of every output in a new
 *   ArrayBuffer, which is dropped unread: the one copy per call, and garbage for V8's collector.
 * - **One session per graph signature**, built once per thread on first use (about 1–4 ms) and
 *   kept: a training step's shapes repeat every step. One intra-op thread: parallelism comes from
 *   the data-parallel replicas, one per core. No memory arena or pattern, so a session holds no
 *   activation-sized buffers between calls.
 *
 * When the binding cannot load (a platform the package has no binary for), `ortGraphsAvailable()`
 * is false and the kernels keep the wasm backend's own.
 */
import { createRequire } from 'node:module';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { encodeModel, IR_VERSION, ONNX_DTYPE, type AttributeProto, type NodeProto, type TensorProto } from '../../onnx/proto.js';

/** The part of onnxruntime-node's native binding used here (onnxruntime-node/dist/binding.d.ts). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: Record<string, unknown>): Record<string, unknown>;
  dispose(): void;
}
interface Binding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}
type TensorClass = new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

const SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  // 'all' turns Conv into MLAS's NCHWc convolution (blocked channels), the fast path.
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  // Errors only: its warnings are about graph clean-ups, not about the results.
  logSeverityLevel: 3,
};

let native: { binding: Binding['binding']; Tensor: TensorClass } | null | undefined;

function load(): typeof native {
  if (native !== undefined) return native;
  try {
    const require = createRequire(import.meta.url);
    const b = require('onnxruntime-node/dist/binding.js') as Binding;
    b.initOrt();
    const { Tensor } = require('onnxruntime-node') as { Tensor: TensorClass };
    native = { binding: b.binding, Tensor };
  } catch {
    native = null;
  }
  return native;
}

/** Whether onnxruntime-node's native binding loads on this machine. */
export function ortGraphsAvailable(): boolean {
  return load() !== null;
}

/** An attribute of a graph node: integers, a list of integers or a float. */
export type GraphAttr = number | number[] | { f: number };

/** A one-off ONNX graph: named float32 inputs with their shapes, nodes, int64 constants, and one float32 output named `y`. */
export interface GraphSpec {
  inputs: Record<string, readonly number[]>;
  /** Shape of the output `y` (a node's output must be named `y`). */
  output: readonly number[];
  nodes: { op: string; inputs: string[]; output: string; attrs?: Record<string, GraphAttr> }[];
  /** int64 constants (shapes, pads, slice bounds) by name. */
  constants?: Record<string, number[]>;
  /** float32 scalar constants (Clip's bounds) by name. */
  scalars?: Record<string, number>;
}

function attribute(name: string, v: GraphAttr): AttributeProto {
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  return { name, type: 1, f: v.f };
}

function encode(spec: GraphSpec): Uint8Array {
  const valueInfo = (name: string, shape: readonly number[]) => ({ name, type: { tensorType: { elemType: ONNX_DTYPE.float, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const initializer: TensorProto[] = [];
  for (const [name, values] of Object.entries(spec.constants ?? {})) {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    initializer.push({ name, dims: [values.length], dataType: ONNX_DTYPE.int64, rawData: new Uint8Array(data.buffer) });
  }
  for (const [name, value] of Object.entries(spec.scalars ?? {})) {
    initializer.push({ name, dims: [], dataType: ONNX_DTYPE.float, rawData: new Uint8Array(Float32Array.of(value).buffer) });
  }
  const node: NodeProto[] = spec.nodes.map((n) => ({
    name: n.output,
    opType: n.op,
    input: n.inputs,
    output: [n.output],
    attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
  }));
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'edgeseg',
    producerVersion: '1',
    graph: {
      name: 'kernel',
      node,
      initializer,
      input: Object.entries(spec.inputs).map(([name, shape]) => valueInfo(name, shape)),
      output: [valueInfo('y', spec.output)],
    },
  });
}

/** The part of the wasm backend's class this module reads. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const sessions = new Map<string, { session: NativeSession; output: readonly number[] }>();

/** Sessions built on this thread so far (one per distinct graph). */
export function ortSessionCount(): number {
  return sessions.size;
}

/**
 * Runs the graph `key` names (built by `spec()` on first use) with `feeds` (each a wasm tensor
 * and the shape the graph reads it as, same element count) and returns a new wasm tensor of
 * `outShape` holding the output `y`, written as `spec().output`.
 */
export function runOrtGraph(
  backend: KernelBackend,
  key: string,
  spec: () => GraphSpec,
  feeds: Record<string, { t: TensorInfo; shape: readonly number[] }>,
  outShape: number[],
): TensorInfo {
  const n = load();
  if (!n) throw new Error('onnxruntime-node is not available on this machine');
  let entry = sessions.get(key);
  if (!entry) {
    const graph = spec();
    const bytes = encode(graph);
    const session = new n.binding.InferenceSession();
    session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, SESSION_OPTIONS);
    entry = { session, output: graph.output };
    sessions.set(key, entry);
  }
  const heap = backend as unknown as WasmHeap;
  const out = heap.makeOutput(outShape, 'float32');
  // Views after the last wasm allocation of the call (a growing heap detaches earlier ones).
  const feedTensors: Record<string, unknown> = {};
  for (const [name, { t, shape }] of Object.entries(feeds)) feedTensors[name] = new n.Tensor('float32', heap.typedArrayFromHeap(t), shape);
  try {
    entry.session.run(feedTensors, { y: new n.Tensor('float32', heap.typedArrayFromHeap(out), entry.output) }, {});
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return out;
}
