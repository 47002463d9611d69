/**
 * Chooses the trainer's compute backend. `auto` takes the fastest that works, in order:
 * native TensorFlow (tfjs-node-gpu / tfjs-node) → WebGPU on a hardware adapter → wasm → cpu,
 * and records why each faster one was passed over (core's backend resolver walks the table).
 */
import { ConfigError, type Logger } from '../../index.js';
import { resolveBackend, type BackendCandidate } from '../../backend_resolver.js';
import { tf } from '../tfjs.js';
import { activateTensorflow } from './tensorflow.js';
import { useOrtConvolutions } from '../wasm_kernels/ort/conv_kernels.js';
import { activateWasm } from './wasm.js';
import { activateWebgpu, gpuDevicePresent, probeWebgpu } from './webgpu.js';

/** tfjs backends the trainer and converter run on; `auto` picks the fastest that works. */
export const TRAINING_BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** One of TRAINING_BACKENDS. */
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];

/** The wasm backend's `adapter` when its dense convolutions run in onnxruntime (core/node/wasm_kernels/ort). */
export const ORT_CONVOLUTIONS = 'onnxruntime-node convolutions';

/** The backend selectBackend activated. */
export interface ActiveBackend {
  name: Exclude<TrainingBackend, 'auto'>;
  /** The GPU adapter or native package, when there is one. */
  adapter?: string;
  /** Why each faster backend was not used (auto only). */
  skipped: Record<string, string>;
}

type Name = Exclude<TrainingBackend, 'auto'>;

/** The trainer's candidates, fastest first; each activation returns the adapter or package it used. */
const CANDIDATES: readonly BackendCandidate<Name, string | undefined>[] = [
  { name: 'tensorflow', probe: async () => null, activate: async () => (await activateTensorflow()).package },
  {
    name: 'webgpu',
    probe: async () => {
      if (!gpuDevicePresent()) return 'no GPU device (/dev/dri/renderD*, /dev/nvidia*) and no VK_ICD_FILENAMES';
      const probe = await probeWebgpu();
      if (!probe) return 'no adapter';
      return probe.software ? `${probe.description} is a software adapter (slower than wasm)` : null;
    },
    activate: async () => {
      const a = await activateWebgpu();
      return a.software ? `${a.description} (software emulation)` : a.description;
    },
  },
  {
    name: 'wasm',
    probe: async () => null,
    activate: async () => {
      await activateWasm();
      // Dense convolutions run in onnxruntime's MLAS where its library loads.
      return useOrtConvolutions() ? ORT_CONVOLUTIONS : undefined;
    },
  },
  {
    name: 'cpu',
    probe: async () => null,
    activate: async () => {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return undefined;
    },
  },
];

/** Activates `requested` (or, for `auto`, the fastest of native TensorFlow, WebGPU, wasm, cpu that works) and reports why the others were skipped. */
export async function selectBackend(requested: TrainingBackend, log?: Logger): Promise<ActiveBackend> {
  if (!TRAINING_BACKENDS.includes(requested)) {
    throw new ConfigError(`backend '${requested}' is not one of ${TRAINING_BACKENDS.join('|')}`);
  }
  const { name, activated: adapter, skipped } = await resolveBackend(CANDIDATES, requested);
  log?.info('backend', { backend: name, ...(adapter ? { adapter } : {}), ...(requested === 'auto' ? { skipped } : {}) });
  return { name, adapter, skipped };
}
