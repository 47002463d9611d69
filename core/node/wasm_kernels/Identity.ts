/**
 * Identity for wasm that shares the input's buffer, as the backend's Reshape already does
 * (backend.incRef, the same dataId under a second tensor). The backend's own Identity copies the
 * whole buffer, and tfjs-core's engine runs Identity for every tensor it saves for the backward
 * pass (Engine.clone in saveTensorsForBackwardMode): 1,552 copies of activations per
 * unet-mobilenetv2 training step. Tensors are immutable and no kernel writes into its inputs, so
 * sharing is safe; the buffer is freed when its last tensor is disposed. Strings keep the
 * backend's kernel.
 */
import { getKernel, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

let fallback: KernelFunc | null = null;

const identity: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') {
    if (!fallback) throw new Error("wasm Identity: the backend's kernel was not found when edgeseg registered its own");
    return fallback(args);
  }
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
};

export const identityConfig: KernelConfig = { kernelName: Identity, backendName: 'wasm', kernelFunc: identity };

/** Remembers the backend's own Identity; call before registering `identityConfig`. */
export function keepBackendIdentity(): void {
  const existing = getKernel(Identity, 'wasm');
  if (existing && existing.kernelFunc !== identity) fallback = existing.kernelFunc;
}
