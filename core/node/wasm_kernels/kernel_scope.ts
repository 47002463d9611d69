/**
 * Runs other kernels of a backend from inside a kernel, the way the backends' own composite
 * kernels do, and frees every intermediate when the composite kernel is done.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The part of the wasm backend's class that heap-level kernels use. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

export class KernelScope {
  private readonly intermediates: TensorInfo[] = [];

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    const out = kernel.kernelFunc({ inputs: inputs as never, backend: this.backend, attrs }) as TensorInfo;
    this.intermediates.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  stridedSlice(x: TensorInfo, begin: number[], end: number[], strides: number[]): TensorInfo {
    return this.run('StridedSlice', { x }, { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
  }

  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  zeros(shape: number[]): TensorInfo {
    return this.run('Fill', {}, { shape, value: 0, dtype: 'float32' });
  }

  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run('Reverse', { x }, { dims });
  }

  concat(xs: TensorInfo[], axis: number): TensorInfo {
    return xs.length === 1 ? xs[0] : this.run('Concat', xs, { axis });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  multiply(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('Multiply', { a, b });
  }

  /** A new float32 output of the backend, tracked like the other intermediates. */
  output(shape: number[]): TensorInfo {
    const out = (this.backend as unknown as WasmHeap).makeOutput(shape, 'float32');
    this.intermediates.push(out);
    return out;
  }

  /**
   * A Float32Array view of a tensor in the wasm heap. Views detach when the heap grows, so take
   * them after the last allocation of the kernel.
   */
  heap(t: TensorInfo): Float32Array {
    return (this.backend as unknown as WasmHeap).typedArrayFromHeap(t) as Float32Array;
  }

  /** Frees intermediates before the kernel ends, so that a loop over chunks keeps one chunk's memory at a time. */
  release(...ts: TensorInfo[]): void {
    for (const t of ts) {
      const k = this.intermediates.indexOf(t);
      if (k < 0) continue;
      this.intermediates.splice(k, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  /** Byte address of a tensor's data in the wasm heap (for the loops of simd.ts). */
  ptr(t: TensorInfo): number {
    const entry = (this.backend as unknown as WasmHeap).dataIdMap.get(t.dataId);
    if (!entry) throw new Error('tensor is not in the wasm heap (disposed, or on another backend)');
    return entry.memoryOffset;
  }

  /** Disposes every intermediate except `result`, which the caller hands to the engine. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.intermediates) {
      if (t !== result) this.backend.disposeData(t.dataId);
    }
    this.intermediates.length = 0;
    return result;
  }

  /** Disposes every intermediate; used when the kernel throws. */
  abandon(): void {
    for (const t of this.intermediates) this.backend.disposeData(t.dataId);
    this.intermediates.length = 0;
  }

  /** Runs `body` with this scope and frees intermediates whether it returns or throws. */
  static use(backend: unknown, backendName: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
    const scope = new KernelScope(backend as KernelBackend, backendName);
    try {
      return scope.finish(body(scope));
    } catch (err) {
      scope.abandon();
      throw err;
    }
  }
}
