/**
 * out[r, ·] = x for r < rows: a vector repeated as every row of a [rows, inner] tensor, for wasm
 * (inner a multiple of 4), one call of simd.ts's copyRuns with a source step of 0. It is the
 * gradient of Sum and Mean over leading axes (core/node/gradients/Reduction_grads.ts): tfjs-core
 * multiplies dy by a ones tensor of x's shape, filled in JavaScript and copied into the heap on
 * every call, which cost unet-mobilenetv2's training step about 7% of its time.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope } from './kernel_scope.js';
import { simdLoops } from './simd.js';

/** Kernel name (registered for wasm only). */
export const TILE_ROWS = 'EdgesegTileRows';

const tileRows: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { rows } = attrs as unknown as { rows: number };
  const inner = x.shape.reduce((a, b) => a * b, 1);
  if (x.dtype !== 'float32' || inner % 4 !== 0 || !Number.isInteger(rows) || rows < 0) {
    throw new Error(`${TILE_ROWS} takes a float32 vector whose size is a multiple of 4 and a row count; got ${x.dtype} ${x.shape}, rows ${rows}`);
  }
  return KernelScope.use(backend, 'wasm', (s) => {
    const out = s.output([rows, inner]);
    simdLoops(s.backend).copyRuns(s.ptr(x), 0, s.ptr(out), inner * 4, inner * 4, rows);
    return out;
  });
};

export const tileRowsConfig: KernelConfig = { kernelName: TILE_ROWS, backendName: 'wasm', kernelFunc: tileRows };
