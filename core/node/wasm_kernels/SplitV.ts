/**
 * SplitV for wasm (the gradient of every Concatenate). The wasm backend splits with one Slice per
 * piece, which is slow for channel-axis pieces (a strided copy per pixel); this copies each
 * contiguous run of the input once, in the wasm heap.
 */
import { backend_util, SplitV, util, type KernelConfig, type KernelFunc, type SplitVAttrs, type TensorInfo } from '@tensorflow/tfjs-core';

interface WasmHeap {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const splitV: KernelFunc = ({ inputs, backend, attrs }) => {
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
  const src = wasm.typedArrayFromHeap(x);
  const row = x.shape[$axis] * inner;
  let offset = 0;
  outs.forEach((out, k) => {
    const dst = wasm.typedArrayFromHeap(out);
    const len = sizes[k] * inner;
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * row + offset, o * row + offset + len), o * len);
    offset += len;
  });
  return outs;
};

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'wasm',
  kernelFunc: splitV,
};
