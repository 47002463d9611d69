/** The browser tests' page: runtime-web's public API on `window.edgeseg`, exactly as an app imports it. */
import * as runtime from '../../runtime-web/index.js';

(globalThis as unknown as { edgeseg: typeof runtime }).edgeseg = runtime;
document.body.dataset.ready = 'true';
