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
import { Cast, Identity, type TensorInfo } from '@tensorflow/tfjs-core';
import { overridingKernel } from './backend_fallback.js';

function share(backend: unknown, x: TensorInfo): TensorInfo {
  (backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export const identityKernel = overridingKernel(Identity, ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  return x.dtype === 'string' ? null : share(backend, x);
});

export const castKernel = overridingKernel(Cast, ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  return x.dtype !== 'string' && x.dtype === (attrs as { dtype: string }).dtype ? share(backend, x) : null;
});
