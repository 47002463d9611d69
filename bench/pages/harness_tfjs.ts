/** The tfjs-only entry's test page: `edgeseg/runtime-web/tfjs` alone on `window.edgeseg` (no ONNX Runtime in the page or its worker). */
import * as runtime from '../../runtime-web/tfjs.js';

(globalThis as unknown as { edgeseg: typeof runtime }).edgeseg = runtime;
document.body.dataset.ready = 'true';
