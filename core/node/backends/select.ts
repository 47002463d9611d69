/**
 * Chooses the trainer's compute backend. `auto` takes the fastest that works, in order:
 * native TensorFlow (tfjs-node-gpu / tfjs-node) → WebGPU on a hardware adapter → wasm → cpu,
 * and records why each faster one was passed over.
 */
import { BackendUnavailableError, ConfigError, type Logger } from '../../index.js';
import { tf } from '../tfjs.js';
import { activateTensorflow } from './tensorflow.js';
import { activateWasm } from './wasm.js';
import { activateWebgpu, gpuDevicePresent, probeWebgpu } from './webgpu.js';

export const TRAINING_BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];

export interface ActiveBackend {
  name: Exclude<TrainingBackend, 'auto'>;
  /** The GPU adapter or native package, when there is one. */
  adapter?: string;
  /** Why each faster backend was not used (auto only). */
  skipped: Record<string, string>;
}

async function activate(name: Exclude<TrainingBackend, 'auto'>): Promise<string | undefined> {
  switch (name) {
    case 'tensorflow':
      return (await activateTensorflow()).package;
    case 'webgpu': {
      const a = await activateWebgpu();
      return a.software ? `${a.description} (software emulation)` : a.description;
    }
    case 'wasm':
      await activateWasm();
      return undefined;
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return undefined;
  }
}

export async function selectBackend(requested: TrainingBackend, log?: Logger): Promise<ActiveBackend> {
  if (!TRAINING_BACKENDS.includes(requested)) {
    throw new ConfigError(`backend '${requested}' is not one of ${TRAINING_BACKENDS.join('|')}`);
  }
  if (requested !== 'auto') {
    try {
      const adapter = await activate(requested);
      log?.info('backend', { backend: requested, ...(adapter ? { adapter } : {}) });
      return { name: requested, adapter, skipped: {} };
    } catch (err) {
      throw new BackendUnavailableError({ [requested]: (err as Error).message });
    }
  }
  const skipped: Record<string, string> = {};
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      if (name === 'webgpu') {
        if (!gpuDevicePresent()) throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia*) and no VK_ICD_FILENAMES');
        const probe = await probeWebgpu();
        if (!probe) throw new Error('no adapter');
        if (probe.software) throw new Error(`${probe.description} is a software adapter (slower than wasm)`);
      }
      const adapter = await activate(name);
      log?.info('backend', { backend: name, ...(adapter ? { adapter } : {}), skipped });
      return { name, adapter, skipped };
    } catch (err) {
      skipped[name] = (err as Error).message;
    }
  }
  throw new BackendUnavailableError(skipped);
}
