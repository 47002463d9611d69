/**
 * edgeseg/runtime-web/ort: runtime-web with ONNX Runtime Web alone (its webgpu or wasm execution
 * provider): no tfjs in the page, so it adds little more than ONNX Runtime itself. The model
 * version needs an ONNX file. The same API as edgeseg/runtime-web.
 */
import type { SegmenterOptions } from './segmenter_api.js';
import type { Segmenter } from './segmenter_results.js';
import { startSegmenter } from './start.js';

export * from './shared_exports.js';

/** createSegmenter with the ONNX Runtime engine only (`engines` is ['ort']). */
export function createSegmenter(options: SegmenterOptions): Promise<Segmenter> {
  return startSegmenter(
    { ...options, engines: options.engines ?? ['ort'] },
    {
      worker: () => new Worker(new URL('./worker_ort.ts', import.meta.url), { type: 'module', name: 'edgeseg-runtime-ort' }),
      local: async () => new (await import('./ort_worker_segmenter.js')).OrtWorkerSegmenter(),
    },
  );
}
