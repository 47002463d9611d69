/** The lean entry's test page: `edgeseg/runtime-web/ort` alone on `window.edgeseg` (no tfjs in the page or its worker). */
import * as runtime from '../../runtime-web/ort.js';

(globalThis as unknown as { edgeseg: typeof runtime }).edgeseg = runtime;
document.body.dataset.ready = 'true';
