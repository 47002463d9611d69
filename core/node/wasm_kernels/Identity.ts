/**
 * Identity for wasm that shares the input's buffer, as the backend's Reshape already does
 * (backend.incRef, the same dataId under a second tensor). The backend's own Identity copies the
 * whole buffer, and tfjs-core's engine runs Identity for every tensor it saves for the backward
 * pass (Engine.clone in saveTensorsForBackwardMode): 1,552 copies of activations per
 * unet-mobilenetv2 training step. Tensors are immutable and no kernel writes into its inputs, so
 * sharing is safe; the buffer is freed when its last tensor is disposed. Strings keep the
 * backend's kernel.
 *
 * Cast to the tensor's own dtype (tf.moments casts its float32 input to float32 in every
 * BatchNorm) is the same copy in the backend; it shares the buffer too. Any other Cast is the
 * backend's.
 */
import { Cast, getKernel, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

let fallback: KernelFunc | null = null;
let castFallback: KernelFunc | null = null;

function share(backend: unknown, x: TensorInfo): TensorInfo {
  (backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

const identity: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') {
    if (!fallback) throw new Error("wasm Identity: the backend's kernel was not found when edgeseg registered its own");
    return fallback(args);
  }
  return share(args.backend, x);
};

const cast: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype !== 'string' && x.dtype === (args.attrs as { dtype: string }).dtype) return share(args.backend, x);
  if (!castFallback) throw new Error("wasm Cast: the backend's kernel was not found when edgeseg registered its own");
  return castFallback(args);
};

export const castConfig: KernelConfig = { kernelName: Cast, backendName: 'wasm', kernelFunc: cast };

export const identityConfig: KernelConfig = { kernelName: Identity, backendName: 'wasm', kernelFunc: identity };

/** Remembers the backend's own Identity and Cast; call before registering `identityConfig` and `castConfig`. */
export function keepBackendIdentity(): void {
  const existing = getKernel(Identity, 'wasm');
  if (existing && existing.kernelFunc !== identity) fallback = existing.kernelFunc;
  const existingCast = getKernel(Cast, 'wasm');
  if (existingCast && existingCast.kernelFunc !== cast) castFallback = existingCast.kernelFunc;
}
