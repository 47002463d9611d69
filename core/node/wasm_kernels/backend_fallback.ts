/**
 * A wasm kernel of edgeseg's that takes the calls it can and hands the rest to the kernel of the
 * same name registered before it (the backend's own, or another of edgeseg's). That kernel is
 * remembered with its setup function, which binds the backend's wasm function when the backend
 * starts, so the fallback still works.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

/** What a kernel function is called with. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** A wasm kernel that passes the calls it does not take on to the backend's own. */
export interface OverridingKernel {
  config: KernelConfig;
  /** Remembers the backend's own kernel; call before registering `config`. */
  keepBackendKernel(): void;
  /** The backend's own kernel, as remembered (for benchmarks comparing the two). */
  backendKernel(): KernelFunc | null;
  /** Remembers the kernel registered now and registers this one in its place (nothing when this one is registered already). */
  install(): void;
  /** Registers the remembered kernel again where this one is registered (nothing otherwise). */
  uninstall(): void;
}

/** `kernelName` for wasm: `own(args)`, or the backend's kernel where `own` returns null. */
export function overridingKernel(kernelName: string, own: (args: KernelArgs) => TensorInfo | null): OverridingKernel {
  let fallback: KernelConfig | null = null;
  const kernelFunc: KernelFunc = (args) => {
    const out = own(args);
    if (out) return out;
    if (!fallback) throw new Error(`wasm ${kernelName}: the backend's kernel was not found when edgeseg registered its own`);
    return fallback.kernelFunc(args);
  };
  const registered = () => getKernel(kernelName, 'wasm')?.kernelFunc === kernelFunc;
  const kernel: OverridingKernel = {
    config: {
      kernelName,
      backendName: 'wasm',
      kernelFunc,
      setupFunc: (backend) => fallback?.setupFunc?.(backend),
      disposeFunc: (backend) => fallback?.disposeFunc?.(backend),
    },
    keepBackendKernel() {
      const existing = getKernel(kernelName, 'wasm');
      if (existing && existing.kernelFunc !== kernelFunc) fallback = existing;
    },
    backendKernel: () => fallback?.kernelFunc ?? null,
    install() {
      if (registered()) return;
      kernel.keepBackendKernel();
      if (getKernel(kernelName, 'wasm')) unregisterKernel(kernelName, 'wasm');
      registerKernel(kernel.config);
    },
    uninstall() {
      if (!registered() || !fallback) return;
      unregisterKernel(kernelName, 'wasm');
      registerKernel(fallback);
    },
  };
  return kernel;
}
