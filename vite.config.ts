/**
 * Two builds:
 *   vite build --mode lib   → dist/runtime-web/: the embeddable runtime (its worker and wasm binaries beside it)
 *   vite build [--mode e2e] → dist/web/: the demo app (in e2e mode dist/web-e2e/, with the browser-test harness page)
 * The web server (scripts/web_server.ts) serves dist/web and the model registry with COOP/COEP,
 * so threaded wasm can be used where the browser allows it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { ISOLATION_HEADERS } from './scripts/isolation_headers.js';

/** onnxruntime-web's wasm binary (27 MB), as runtime-web imports it. */
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';

/**
 * onnxruntime-web's bundle points at its wasm binary with `new URL(…, import.meta.url)` too, which
 * Vite would emit (or, in the library, inline) beside runtime-web's own import of the same file.
 * runtime-web always sets `ort.env.wasm.wasmPaths`, so that reference is never used: hide it.
 */
function ortOwnWasmReference(): Plugin {
  return {
    name: 'edgeseg:ort-own-wasm-reference',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('/onnxruntime-web/dist/')) return null;
      return code.replaceAll(`new URL("${ORT_WASM}",import.meta.url)`, `new URL("${ORT_WASM}",import.meta["url"])`);
    },
  };
}

/** The wasm binaries runtime-web imports as `<module>?url`, by the file name they get beside the library. */
const LIBRARY_WASM: Record<string, string> = {
  [ORT_WASM]: `onnxruntime-web/${ORT_WASM}`,
  'tfjs-backend-wasm.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm': '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
};

/**
 * Library build: each wasm binary is written once beside the bundle instead of inlined as base64
 * into the worker and the main-thread chunk (ONNX Runtime's alone: +72 MB; tfjs' three: +3 MB).
 * Its URL is `new URL('./<file>', import.meta.url)` in the output (the worker and the chunks sit
 * beside it), so an app's bundler (Vite, webpack) emits it with no configuration and the browser
 * fetches only the binaries the chosen backend and engine use; `wasmPaths` overrides them. The
 * reference is hidden from this build as `import.meta["url"]`, which the minifier writes back as
 * `import.meta.url`. `emit` is false in the worker's own build (the main build emits the files).
 */
function wasmBesideLibrary(emit: boolean): Plugin {
  const byRequest = new Map(Object.entries(LIBRARY_WASM).map(([file, module]) => [`${module}?url`, file]));
  const prefix = '\0edgeseg:wasm-url:';
  return {
    name: 'edgeseg:wasm-beside-library',
    enforce: 'pre',
    resolveId: (source) => (byRequest.has(source) ? prefix + byRequest.get(source)! : null),
    load(id) {
      if (!id.startsWith(prefix)) return null;
      const file = id.slice(prefix.length);
      if (emit) this.emitFile({ type: 'asset', fileName: file, source: readFileSync(fileURLToPath(import.meta.resolve(LIBRARY_WASM[file]))) });
      return `export default new URL(${JSON.stringify(`./${file}`)}, import.meta["url"]).href;`;
    },
  };
}

/**
 * Library build: Vite writes each worker's URL (worker-…, worker_tfjs-…, worker_ort-…) as a root path its own bundler must not follow
 * (`new URL("/worker-….js", "" + import.meta.url)`, marked @vite-ignore). The library's worker sits
 * beside the chunk that starts it, so the reference becomes the plain `new Worker(new URL("./…",
 * import.meta.url), …)` that an app's Vite or webpack build follows, bundles and emits.
 */
function relativeLibraryWorker(): Plugin {
  return {
    name: 'edgeseg:relative-library-worker',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        chunk.code = chunk.code.replace(/new URL\(\s*\/\* @vite-ignore \*\/\s*"\/?(worker[\w-]*\.js)",\s*"" \+ import\.meta\.url\s*\)/g, 'new URL("./$1", import.meta.url)');
      }
    },
  };
}

/** The MIT license's text; each package's copyright line is in its own section. */
const MIT_TEXT = `MIT License (full text; "the above copyright notice" is the package's, in its section)

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

/**
 * Library build: the bundle carries third-party code (tfjs, ONNX Runtime Web, comlink, …), whose
 * licenses ask for their notices to travel with it. Every package a chunk took modules from is
 * listed with its license text in THIRD_PARTY_LICENSES.txt beside the bundle. The worker is built
 * from the same packages as the WorkerSegmenter chunk (runtime-web's `worker: false` path), so the main
 * build's chunks name them all.
 */
function thirdPartyLicenses(): Plugin {
  const packageRoot = (id: string): string | null => {
    const i = id.lastIndexOf('/node_modules/');
    if (i < 0) return null;
    const rest = id.slice(i + '/node_modules/'.length).split('/');
    return id.slice(0, i + '/node_modules/'.length) + (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]);
  };
  return {
    name: 'edgeseg:third-party-licenses',
    generateBundle(_options, bundle) {
      const roots = new Set<string>();
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        for (const id of chunk.moduleIds) {
          const root = packageRoot(id.replace(/^\0/, '').split('?')[0]);
          if (root && existsSync(join(root, 'package.json'))) roots.add(root);
        }
      }
      const declared = new Set<string>();
      const sections = [...roots].map((root) => {
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; license?: string; main?: string; module?: string };
        const title = `${pkg.name}@${pkg.version} (${pkg.license ?? 'license not declared'})`;
        const file = readdirSync(root).find((f) => /^(licen[sc]e|copying|notice)(\.(md|txt))?$/i.test(f));
        if (file) return { name: pkg.name, text: `${title}\n\n${readFileSync(join(root, file), 'utf8').trim()}` };
        // No license file in the published package (tfjs, onnxruntime-web): its sources' copyright
        // notice, and the declared license's full text at the end of the file.
        const sources = [pkg.module, pkg.main, 'README.md'].filter((f): f is string => Boolean(f)).map((f) => join(root, f)).filter((f) => existsSync(f));
        const notice = sources.map((f) => /Copyright[^\n*]*/.exec(readFileSync(f, 'utf8').slice(0, 200_000))?.[0].trim()).find(Boolean);
        for (const id of (pkg.license ?? '').match(/Apache-2\.0|MIT/g) ?? []) declared.add(id);
        return { name: pkg.name, text: `${title}\n\n${notice ?? 'No copyright notice found in the package.'}\nThe package ships no license file; for the full text of ${pkg.license ?? 'its license'} see the end of this file.` };
      });
      sections.sort((a, b) => a.name.localeCompare(b.name));
      const texts: string[] = [];
      // A bundled package's own copy of the Apache 2.0 text (long, a tfjs dependency, ships one).
      const apache = sections.find((s) => s.text.includes('Apache License') && s.text.includes('Version 2.0, January 2004') && s.text.includes('TERMS AND CONDITIONS'));
      if (declared.has('Apache-2.0')) texts.push(`Apache License 2.0: ${apache ? `its full text is the license of ${apache.name}, above` : 'https://www.apache.org/licenses/LICENSE-2.0.txt'}.`);
      if (declared.has('MIT')) texts.push(MIT_TEXT);
      const header = 'Third-party software bundled in edgeseg/runtime-web (dist/runtime-web), with its licenses.';
      this.emitFile({ type: 'asset', fileName: 'THIRD_PARTY_LICENSES.txt', source: [header, ...sections.map((s) => s.text), ...texts].join(`\n\n${'-'.repeat(78)}\n\n`) + '\n' });
    },
  };
}

export default defineConfig(({ mode }): UserConfig => {
  const lib = mode === 'lib';
  const common: UserConfig = {
    plugins: [ortOwnWasmReference(), ...(lib ? [wasmBesideLibrary(true), relativeLibraryWorker(), thirdPartyLicenses()] : [])],
    worker: { format: 'es', plugins: () => [ortOwnWasmReference(), ...(lib ? [wasmBesideLibrary(false)] : [])] },
    logLevel: 'warn',
    server: { headers: ISOLATION_HEADERS },
  };
  if (lib) {
    return {
      ...common,
      build: {
        outDir: 'dist/runtime-web',
        emptyOutDir: true,
        // The worker beside the chunks and the ONNX Runtime binary: see relativeLibraryWorker.
        assetsDir: '',
        // Library mode would inline assets as data: URLs; the wasm binaries are files beside the
        // bundle instead: see wasmBesideLibrary.
        // One entry per subpath: edgeseg/runtime-web (every engine), …/tfjs and …/ort (one each).
        lib: { entry: { index: 'runtime-web/index.ts', tfjs: 'runtime-web/tfjs.ts', ort: 'runtime-web/ort.ts' }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
      },
    };
  }
  return {
    ...common,
    base: '/',
    build: {
      // The browser tests' build has a folder of its own: `npm start` may build the demo meanwhile.
      outDir: mode === 'e2e' ? 'dist/web-e2e' : 'dist/web',
      emptyOutDir: true,
      assetsInlineLimit: 0,
      rollupOptions: { input: { demo: 'demo/index.html', ...(mode === 'e2e' ? { harness: 'bench/pages/harness.html', harness_ort: 'bench/pages/harness_ort.html', harness_tfjs: 'bench/pages/harness_tfjs.html' } : {}) } },
    },
  };
});
