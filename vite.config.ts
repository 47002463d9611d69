/**
 * Two builds:
 *   vite build --mode lib   → dist/runtime-web/: the embeddable runtime (worker and wasm binaries inside)
 *   vite build [--mode e2e] → dist/web/: the demo app (plus the browser-test harness page in e2e mode)
 * The web server (scripts/web_server.ts) serves dist/web and the model registry with COOP/COEP,
 * so threaded wasm can be used where the browser allows it.
 */
import { defineConfig, type UserConfig } from 'vite';
import { ISOLATION_HEADERS } from './scripts/isolation_headers.js';

export default defineConfig(({ mode }): UserConfig => {
  const common: UserConfig = { worker: { format: 'es' }, logLevel: 'warn', server: { headers: ISOLATION_HEADERS } };
  if (mode === 'lib') {
    return {
      ...common,
      build: {
        outDir: 'dist/runtime-web',
        emptyOutDir: true,
        // Library mode inlines assets: the wasm binaries travel inside the worker as data: URLs, so
        // the bundle is self-contained (`wasmPaths` serves them from elsewhere).
        lib: { entry: 'runtime-web/index.ts', formats: ['es'], fileName: 'index' },
      },
    };
  }
  return {
    ...common,
    base: '/',
    build: {
      outDir: 'dist/web',
      emptyOutDir: true,
      assetsInlineLimit: 0,
      rollupOptions: { input: { demo: 'demo/index.html', ...(mode === 'e2e' ? { harness: 'test/e2e/pages/harness.html' } : {}) } },
    },
  };
});
