/**
 * Named tensors as plain typed arrays, to cross between threads (each thread has its own tfjs
 * engine and backend, so tensors themselves cannot cross).
 */
import { tf } from '../../core/node/tfjs.js';

export interface TensorData {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export function toTensorData(named: { name: string; tensor: tf.Tensor }[]): TensorData[] {
  return named.map(({ name, tensor }) => {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new TypeError(`tensor ${name} has dtype ${tensor.dtype}; only float32 and int32 cross threads`);
    // A copy: the cpu backend hands out its own storage, which a transfer would detach.
    return { name, shape: tensor.shape.slice(), dtype: tensor.dtype, data: (tensor.dataSync() as Float32Array | Int32Array).slice() };
  });
}

export function fromTensorData(list: TensorData[]): { name: string; tensor: tf.Tensor }[] {
  return list.map((t) => ({ name: t.name, tensor: tf.tensor(t.data, t.shape, t.dtype) }));
}

/** The wasm backend's view of a tensor's data in its heap. */
interface WasmHeapView {
  typedArrayFromHeap(t: { dataId: object; shape: number[]; dtype: string }): Float32Array | Int32Array | Uint8Array;
}

/**
 * A float32 tensor's values to read once, now: on the wasm backend a view of its heap memory (no
 * copy, no new ArrayBuffer: a replica reads 6.5 M gradient values per step, and a copy of each
 * would be external memory that makes V8 collect garbage on every few kernels), elsewhere
 * `dataSync()`. The view detaches when the heap grows, so use it before the next tensor is made.
 */
export function readNow(tensor: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as Partial<WasmHeapView>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function' && tensor.dtype === 'float32') {
    return backend.typedArrayFromHeap(tensor) as Float32Array;
  }
  return tensor.dataSync() as Float32Array;
}

/** The buffers of a list, for a postMessage transfer list. */
export function buffersOf(list: TensorData[]): ArrayBuffer[] {
  return list.map((t) => t.data.buffer as ArrayBuffer);
}

/**
 * Replaces an optimizer's state. tfjs' `setWeights` makes new variables that share the given
 * tensors' data and drops the old variables without disposing them; both are released here.
 */
export async function replaceOptimizerState(optimizer: tf.Optimizer, state: TensorData[]): Promise<void> {
  const old = await optimizer.getWeights();
  const fresh = fromTensorData(state);
  await optimizer.setWeights(fresh);
  tf.dispose([...old, ...fresh].map((w) => w.tensor));
}
