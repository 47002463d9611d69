/// <reference lib="dom" />
/**
 * bench:web — runtime-web in headless Chromium, per backend and per model variant, measured in
 * one run: time to first mask (load + verify + warm-up + first frame), steady-state latency
 * p50/p95 and FPS over `--frames` frames (sequential, 640×480 canvas frames), main-thread time
 * per frame, and drift (median of the first 50 vs the last 50 frames). Each case stops early
 * after `--max-seconds` (SwiftShader's WebGPU/WebGL are CPU emulation: not GPU figures) and
 * says how many frames it measured. Writes bench/out/web.json and web.md.
 *
 *   npm run bench:web [-- --frames 300 --max-seconds 90]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, percentile } from '../core/index.js';
import { convert } from '../converter/convert.js';
import { startWebServer } from '../scripts/web_server.js';
import { BENCH_MODEL, gflopOf, seededModel } from './helpers/models.js';
import { buildWeb, launchBrowser } from './helpers/browser.js';

const { values: args } = parseArgs({ options: { frames: { type: 'string', default: '300' }, 'max-seconds': { type: 'string', default: '90' } } });
const FRAMES = Number(args.frames);
const MAX_SECONDS = Number(args['max-seconds']);
const log = createLogger('bench', { level: 'warn' });

// The 0.92 GFLOP unet-small of every benchmark; latency does not depend on trained weights.
const root = join(tmpdir(), `edgeseg-bench-web-${process.pid}`);
const parentDir = join(root, 'bench', '1');
const gflop = gflopOf('unet-small', BENCH_MODEL);
await seededModel(parentDir, { name: 'bench', version: '1', seed: 1, config: BENCH_MODEL });
const variants = ['fp32', 'fp16', 'uint8'] as const;
for (const precision of variants) await convert({ model: parentDir, precision, out: root, log, onProgress: () => {} });

await buildWeb();
const server = await startWebServer({ models: root });
const browser = await launchBrowser();

interface Row {
  backend: string;
  variant: string;
  bytes: number;
  firstMaskMs: number;
  frames: number;
  p50Ms: number;
  p95Ms: number;
  fps: number;
  mainThreadMs: number;
  first50MedianMs: number;
  last50MedianMs: number;
}

const rows: Row[] = [];
const notes: string[] = [];
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench/pages/harness.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  console.log(`unet-small base 16 depth 4 (${gflop.toFixed(3)} GFLOP/frame), Chromium ${browser.version()}, ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`);
  for (const backend of ['webgpu', 'webgl', 'wasm']) {
    for (const variant of variants) {
      const r = await page.evaluate(
        async ({ model, backend, frames, maxMs }) => {
          const api = (globalThis as unknown as { edgeseg: { createSegmenter(o: object): Promise<{ info: { backend: string; bytes: number }; segment(s: HTMLCanvasElement): Promise<{ timings: { total: number } }>; close(): Promise<void> }> } }).edgeseg;
          const canvas = document.createElement('canvas');
          canvas.width = 640;
          canvas.height = 480;
          const ctx = canvas.getContext('2d')!;
          const draw = (i: number) => {
            ctx.fillStyle = `hsl(${(i * 37) % 360} 40% 50%)`;
            ctx.fillRect(0, 0, 640, 480);
            ctx.fillStyle = '#e0c090';
            ctx.beginPath();
            ctx.ellipse(320 + (i % 40) * 3, 240, 150, 110, 0, 0, 2 * Math.PI);
            ctx.fill();
          };
          const t0 = performance.now();
          let seg;
          try {
            seg = await api.createSegmenter({ model, backend, cache: false });
          } catch (e) {
            return { error: (e as Error).message };
          }
          draw(0);
          await seg.segment(canvas);
          const firstMaskMs = performance.now() - t0;
          const latencies: number[] = [];
          let main = 0;
          const start = performance.now();
          for (let i = 0; i < frames && performance.now() - start < maxMs; i++) {
            draw(i);
            const s = performance.now();
            const pending = seg.segment(canvas);
            main += performance.now() - s;
            latencies.push((await pending).timings.total);
          }
          const info = seg.info;
          await seg.close();
          return { backend: info.backend, bytes: info.bytes, firstMaskMs, latencies, mainThreadMs: main / latencies.length, seconds: (performance.now() - start) / 1000 };
        },
        { model: `/models/bench/1-${variant}/`, backend, frames: FRAMES, maxMs: MAX_SECONDS * 1000 },
      );
      if ('error' in r) {
        notes.push(`${backend} ${variant}: ${r.error}`);
        console.log(`  ${backend} ${variant}: unavailable (${r.error})`);
        continue;
      }
      const k = Math.min(50, Math.floor(r.latencies.length / 2));
      const row: Row = {
        backend: r.backend,
        variant,
        bytes: r.bytes,
        firstMaskMs: r.firstMaskMs,
        frames: r.latencies.length,
        p50Ms: percentile(r.latencies, 0.5),
        p95Ms: percentile(r.latencies, 0.95),
        fps: r.latencies.length / r.seconds,
        mainThreadMs: r.mainThreadMs,
        first50MedianMs: percentile(r.latencies.slice(0, k), 0.5),
        last50MedianMs: percentile(r.latencies.slice(-k), 0.5),
      };
      rows.push(row);
      console.log(`  ${backend} ${variant}: first mask ${row.firstMaskMs.toFixed(0)} ms, p50 ${row.p50Ms.toFixed(1)} ms, p95 ${row.p95Ms.toFixed(1)} ms, ${row.fps.toFixed(1)} FPS over ${row.frames} frames; main thread ${row.mainThreadMs.toFixed(2)} ms/frame; first-${k} ${row.first50MedianMs.toFixed(1)} vs last-${k} ${row.last50MedianMs.toFixed(1)} ms`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}

const find = (b: string, v: string) => rows.find((r) => r.backend === b && r.variant === v);
const ratios: Record<string, number> = {};
for (const b of ['webgpu', 'webgl']) {
  const gpu = find(b, 'fp32');
  const wasm = find('wasm', 'fp32');
  if (gpu && wasm) ratios[`${b}/wasm p50 latency (fp32)`] = gpu.p50Ms / wasm.p50Ms;
}
for (const b of ['webgpu', 'webgl', 'wasm']) {
  const [f32, u8] = [find(b, 'fp32'), find(b, 'uint8')];
  if (f32 && u8) ratios[`${b} fp32/uint8 first mask`] = f32.firstMaskMs / u8.firstMaskMs;
}
const table = [
  '| backend | variant | weight bytes | first mask ms | frames | p50 ms | p95 ms | FPS | main-thread ms/frame | first-50 / last-50 median ms |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.backend} | ${r.variant} | ${r.bytes.toLocaleString('en')} | ${r.firstMaskMs.toFixed(0)} | ${r.frames} | ${r.p50Ms.toFixed(1)} | ${r.p95Ms.toFixed(1)} | ${r.fps.toFixed(1)} | ${r.mainThreadMs.toFixed(2)} | ${r.first50MedianMs.toFixed(1)} / ${r.last50MedianMs.toFixed(1)} |`),
].join('\n');
const ratioLines = Object.entries(ratios).map(([k, v]) => `${k}: ${v.toFixed(2)}x`);
console.log(`\n${table}\n`);
for (const l of [...ratioLines, ...notes]) console.log(l);
mkdirSync('bench/out', { recursive: true });
const machine = `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, no GPU (WebGPU and WebGL on SwiftShader)`;
writeFileSync('bench/out/web.json', JSON.stringify({ bench: 'web', machine, chromium: browser.version(), gflopPerFrame: gflop, rows, ratios, notes, measured: new Date().toISOString() }, null, 2));
writeFileSync('bench/out/web.md', `# runtime-web in headless Chromium\n\nunet-small base 16 depth 4 (${gflop.toFixed(3)} GFLOP/frame), 640×480 canvas frames, sequential, up to ${FRAMES} frames or ${MAX_SECONDS} s per case; ${machine}. SwiftShader numbers are CPU emulation, not GPU figures.\n\n${table}\n\n${[...ratioLines, ...notes].map((l) => `- ${l}`).join('\n')}\n`);
