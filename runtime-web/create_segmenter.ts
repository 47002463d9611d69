/** createSegmenter of `edgeseg/runtime-web`: every engine (tfjs and ONNX Runtime) in its module worker. */
import type { SegmenterOptions } from './segmenter_api.js';
import type { Segmenter } from './segmenter_results.js';
import { startSegmenter } from './start.js';

/**
 * Creates a segmenter with every engine (tfjs and ONNX Runtime). Resolves when the model is loaded,
 * checked against SHA256SUMS and the contract, and warmed up on the chosen backend; rejects with a
 * named error otherwise (a missing file, a checksum mismatch naming the file, a contract mismatch,
 * or every backend's reason).
 */
export function createSegmenter(options: SegmenterOptions): Promise<Segmenter> {
  return startSegmenter(options, {
    worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'edgeseg-runtime' }),
    local: async () => {
      const [{ WorkerSegmenter }, { webTfjsRunner }, { webOrtRunner }] = await Promise.all([import('./worker_segmenter.js'), import('./runner_tfjs.js'), import('./runner_ort.js')]);
      return new WorkerSegmenter({ tfjs: webTfjsRunner, ort: webOrtRunner });
    },
  });
}
