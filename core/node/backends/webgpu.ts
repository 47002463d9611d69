/**
 * WebGPU in Node through Dawn (npm `webgpu`), for tfjs-backend-webgpu. Software adapters
 * (SwiftShader, llvmpipe, lavapipe) work but emulate the GPU on the CPU: `auto` never picks them;
 * naming `webgpu` explicitly accepts them. With no GPU, point Vulkan at SwiftShader:
 * `VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { softwareAdapterReason } from '../../adapters.js';
import { tf } from '../tfjs.js';

export interface WebgpuAdapter {
  /** "vendor architecture (description)" as Dawn reports it. */
  description: string;
  software: boolean;
}

type Gpu = { requestAdapter(options?: unknown): Promise<GpuAdapter | null> };
type GpuAdapter = {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
};

let gpu: Gpu | undefined;

async function dawn(): Promise<Gpu> {
  if (gpu) return gpu;
  // Dawn's Vulkan loader logs an XDG_RUNTIME_DIR complaint when the variable is unset (headless servers).
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  // An optional peer dependency of the installed package (132 MB of Dawn binaries): absent, the
  // backend is skipped with this reason.
  const dawnModule = await import('webgpu').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_MODULE_NOT_FOUND') throw new Error("the 'webgpu' package (Dawn for Node) is not installed: npm install webgpu");
    throw err;
  });
  const { create, globals } = dawnModule as unknown as { create(flags: string[]): Gpu; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  gpu = create([]);
  const nav = (globalThis as unknown as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

/**
 * Whether a GPU could be present. On Linux, probing Dawn without one makes its Vulkan loader print
 * warnings, so `auto` looks for a device node (or an explicit Vulkan driver) first.
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux' || process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return true;
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || readdirSync('/dev').some((f) => /^nvidia\d+$/.test(f));
}

/** Finds Dawn's adapter without activating tfjs; null when there is none. */
export async function probeWebgpu(): Promise<WebgpuAdapter | null> {
  const adapter = await (await dawn()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ') || 'unknown adapter';
  const software = softwareAdapterReason(description, Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter)) !== null;
  return { description, software };
}

/** Activates tfjs' webgpu backend on Dawn's adapter. */
export async function activateWebgpu(): Promise<WebgpuAdapter> {
  const adapter = await probeWebgpu();
  if (!adapter) throw new Error('Dawn found no WebGPU adapter (no Vulkan driver; set VK_ICD_FILENAMES to a driver)');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error(`tfjs could not initialise webgpu on ${adapter.description}`);
  return adapter;
}
