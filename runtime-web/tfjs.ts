/**
 * edgeseg/runtime-web/tfjs: runtime-web with the tfjs engine alone (webgpu, webgl, wasm): no ONNX
 * Runtime code or binary in the page. The same API as edgeseg/runtime-web.
 */
import type { SegmenterOptions } from './segmenter_api.js';
import type { Segmenter } from './segmenter_results.js';
import { startSegmenter } from './start.js';

export * from './shared_exports.js';

/** createSegmenter with the tfjs engine only (`engines` is ['tfjs']). */
export function createSegmenter(options: SegmenterOptions): Promise<Segmenter> {
  return startSegmenter(
    { ...options, engines: options.engines ?? ['tfjs'] },
    {
      worker: () => new Worker(new URL('./worker_tfjs.ts', import.meta.url), { type: 'module', name: 'edgeseg-runtime-tfjs' }),
      local: async () => {
        const [{ WorkerSegmenter }, { webTfjsRunner }] = await Promise.all([import('./worker_segmenter.js'), import('./runner_tfjs.js')]);
        return new WorkerSegmenter({ tfjs: webTfjsRunner });
      },
    },
  );
}
