/**
 * Runs a small ONNX graph in onnxruntime-node, synchronously, on tensors of tfjs' wasm heap: the
 * way the wasm trainer hands its large convolutions to onnxruntime's MLAS, which runs them with
 * the CPU's own vector width (AVX2/AVX-512 FMA) where the wasm module is held to 128-bit SIMD
 * without FMA.
 *
 * - **Synchronous, in place.** tfjs kernels must return their output. The graph runs through
 *   onnxruntime's C API (ort_capi.ts), on OrtValues over the wasm heap: MLAS reads the inputs and
 *   writes the output tensor, allocated first by tfjs, where they lie. A view may shape the same
 *   bytes differently (an NHWC tensor as a [N·H·W, C] matrix). Nothing is copied.
 * - **One session per graph signature**, built once per thread on first use (about 1–4 ms) and
 *   kept: a training step's shapes repeat every step. One intra-op thread: parallelism comes from
 *   the data-parallel replicas, one per core. No memory arena or pattern, so a session holds no
 *   activation-sized buffers between calls.
 *
 * When the C API cannot be reached (a platform with no koffi or onnxruntime binary),
 * `ortGraphsAvailable()` is false and the kernels keep the wasm backend's own.
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { ortApiAvailable, OrtSession } from './ort_capi.js';
import { encodeModel, IR_VERSION, ONNX_DTYPE, type AttributeProto, type NodeProto, type TensorProto } from '../../onnx/proto.js';

/** The session settings of every graph the wasm kernels build (ort_capi.ts). */
export const SESSION_SETTINGS = {
  intraOpThreads: 1,
  // ORT_ENABLE_ALL: every graph optimisation onnxruntime has.
  graphOptimizationLevel: 99,
  // Errors only: its warnings are about graph clean-ups, not about the results.
  logSeverityLevel: 3,
};

/** Whether onnxruntime can run graphs on this machine. */
export function ortGraphsAvailable(): boolean {
  return ortApiAvailable();
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

/** The ONNX model bytes of a graph spec. */
export function encodeGraph(spec: GraphSpec): Uint8Array {
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
    opsetImport: [{ domain: '', version: 18 }],
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

const sessions = new Map<string, { session: OrtSession; inputs: string[]; output: readonly number[] }>();

/** Sessions built on this thread so far (one per distinct graph). */
export function ortSessionCount(): number {
  return sessions.size;
}

/**
 * Runs the graph `key` names (built by `spec()` on first use) with `feeds` (each a wasm tensor
 * and the shape the graph reads it as: the same element count, or, with `offset`, that many
 * elements from that element of the tensor on — several feeds may be windows of one tensor) and returns a new wasm tensor of
 * `outShape` holding the output `y`, written as `spec().output`.
 */
export function runOrtGraph(
  backend: KernelBackend,
  key: string,
  spec: () => GraphSpec,
  feeds: Record<string, { t: TensorInfo; shape: readonly number[]; offset?: number }>,
  outShape: number[],
): TensorInfo {
  let entry = sessions.get(key);
  if (!entry) {
    const graph = spec();
    const inputs = Object.keys(graph.inputs);
    entry = { session: new OrtSession(encodeGraph(graph), SESSION_SETTINGS, inputs, ['y']), inputs, output: graph.output };
    sessions.set(key, entry);
  }
  const heap = backend as unknown as WasmHeap;
  const out = heap.makeOutput(outShape, 'float32');
  try {
    // Views after the last wasm allocation of the call (a growing heap detaches earlier ones).
    const inputs = entry.inputs.map((name) => {
      const { t, shape, offset } = feeds[name];
      const all = heap.typedArrayFromHeap(t);
      return { view: offset === undefined ? all : all.subarray(offset, offset + shape.reduce((a, b) => a * b, 1)), shape };
    });
    entry.session.run(inputs, [{ view: heap.typedArrayFromHeap(out), shape: entry.output }]);
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return out;
}
