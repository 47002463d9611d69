/**
 * SplitV for wasm (the gradient of every Concatenate). The wasm backend splits with one Slice per
 * piece, which is slow for channel-axis pieces (a strided copy per pixel); this copies each
 * contiguous run of the input once, in the wasm heap (float32 runs of whole f32x4 vectors in
 * simd.ts's copyRuns, the rest with one TypedArray.set per run).
 */
import { backend_util, SplitV, util, type KernelConfig, type KernelFunc, type SplitVAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdLoops } from './simd.js';

interface WasmHeap {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

function split({ inputs, backend, attrs }: Parameters<KernelFunc>[0], simd: boolean): TensorInfo[] {
  const { x } = inputs as { x: TensorInfo };
  const { numOrSizeSplits, axis } = attrs as unknown as SplitVAttrs;
  const wasm = backend as unknown as WasmHeap;
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const outer = util.sizeFromShape(x.shape.slice(0, $axis));
  const inner = util.sizeFromShape(x.shape.slice($axis + 1));
  const outs = sizes.map((size) => {
    const shape = x.shape.slice();
    shape[$axis] = size;
    return wasm.makeOutput(shape, x.dtype);
  });
  const row = x.shape[$axis] * inner;
  let offset = 0;
  // Float32 pieces whose runs are whole f32x4 vectors go through simd.ts's copyRuns (no JavaScript
  // call per run: a channel-axis split of a 128² activation is 131,072 runs per piece).
  const vectors = simd && x.dtype === 'float32' && sizes.every((size) => (size * inner) % 4 === 0) && row % 4 === 0;
  outs.forEach((out, k) => {
    const len = sizes[k] * inner;
    if (vectors) {
      simdLoops(backend).copyRuns(wasm.dataIdMap.get(x.dataId)!.memoryOffset + offset * 4, row * 4, wasm.dataIdMap.get(out.dataId)!.memoryOffset, len * 4, len * 4, outer);
    } else {
      const src = wasm.typedArrayFromHeap(x);
      const dst = wasm.typedArrayFromHeap(out);
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * row + offset, o * row + offset + len), o * len);
    }
    offset += len;
  });
  return outs;
}

const splitV: KernelFunc = (args) => split(args, true);

/** The previous kernel, one TypedArray.set per run (the before/after benchmark's "before"). */
export const splitVByRuns: KernelFunc = (args) => split(args, false);

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'wasm',
  kernelFunc: splitV,
};
