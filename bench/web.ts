/// <reference lib="dom" />
/**
 * bench:web — runtime-web in headless Chromium, per backend × engine (tfjs-webgpu, tfjs-webgl,
 * tfjs-wasm, ort-wasm, ort-webgpu), per model variant, and `auto` (backend and engine chosen by
 * measurement), each run `--runs` times cold (no cached weights, no cached choice) and reported
 * as medians: time to first mask (load + verify + warm-up + first frame), steady-state latency
 * p50/p95 and FPS over `--frames` frames (sequential, 640×480 canvas frames), main-thread time per
 * frame, and drift (median of the first 50 vs the last 50 frames). Each case stops early after
 * `--max-seconds` (SwiftShader's WebGPU/WebGL are CPU emulation: not GPU figures) and says how many
 * frames it measured. Ends with `auto/best first mask: <x>x` and `auto/best p50: <x>x` (auto over
 * the best hand-picked case of the first variant, per figure). Writes bench/out/web.json and web.md.
 *
 *   npm run bench:web [-- --frames 300 --max-seconds 90 --runs 3 --variants fp32,fp16,uint8 --cases tfjs-wasm,ort-wasm,auto]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/index.js';
import { percentile } from '../core/metrics.js';
import { convert } from '../converter/convert.js';
import { startWebServer } from '../scripts/web_server.js';
import { BENCH_MODEL, gflopOf, seededModel } from './helpers/models.js';
import { buildWeb, HARNESS_DIST, launchBrowser, openHarness } from './helpers/browser.js';
import { BENCH_OUT, benchOut } from './helpers/smoke.js';

const { values: args } = parseArgs({
  options: { frames: { type: 'string', default: '300' }, 'max-seconds': { type: 'string', default: '90' }, runs: { type: 'string', default: '3' }, variants: { type: 'string', default: 'fp32,fp16,uint8' }, cases: { type: 'string' } },
});
const FRAMES = Number(args.frames);
const MAX_SECONDS = Number(args['max-seconds']);
const RUNS = Number(args.runs);
const ALL_VARIANTS = ['fp32', 'fp16', 'uint8'] as const;
const variants = args.variants.split(',') as (typeof ALL_VARIANTS)[number][];
if (!variants.every((v) => ALL_VARIANTS.includes(v)) || !(RUNS >= 1)) throw new Error(`--variants must list ${ALL_VARIANTS.join('|')} and --runs be ≥ 1`);
const log = createLogger('bench', { level: 'warn' });
/** Frames the uint8 variant's int8 ONNX activations are calibrated on. */
const CALIBRATION = 'synthetic:count=16,size=128,seed=3';

// The 0.92 GFLOP unet-small of every benchmark; latency does not depend on trained weights.
const root = join(tmpdir(), `edgeseg-bench-web-${process.pid}`);
const parentDir = join(root, 'bench', '1');
const gflop = gflopOf('unet-small', BENCH_MODEL);
await seededModel(parentDir, { name: 'bench', version: '1', seed: 1, config: BENCH_MODEL });
// Both formats: the ONNX Runtime cases run the version's ONNX file (fp32, fp16 weights, int8 QDQ for uint8).
// An int8 ONNX variant needs activation ranges: calibrated on synthetic frames (latency does not depend on them).
for (const precision of variants) await convert({ model: parentDir, precision, format: 'both', models: root, log, onProgress: () => {}, ...(precision === 'uint8' ? { calibrate: CALIBRATION, calibrationSamples: 8 } : {}) });

await buildWeb();
const server = await startWebServer({ dist: HARNESS_DIST, models: root });
const browser = await launchBrowser();

/** Hand-picked backend × engine cases, then auto. */
const CASES = [
  { name: 'tfjs-webgpu', backend: 'webgpu', engine: 'tfjs' },
  { name: 'tfjs-webgl', backend: 'webgl', engine: 'tfjs' },
  { name: 'tfjs-wasm', backend: 'wasm', engine: 'tfjs' },
  { name: 'ort-wasm', backend: 'wasm', engine: 'ort' },
  { name: 'ort-webgpu', backend: 'webgpu', engine: 'ort' },
  { name: 'auto', backend: 'auto', engine: 'auto' },
] as const;
/** The cases run: `--cases tfjs-wasm,auto` picks some (a smoke run skips the minute-long software-GPU ones). @default every case */
const cases = args.cases ? CASES.filter((c) => args.cases!.split(',').includes(c.name)) : CASES;
if (args.cases && cases.length !== args.cases.split(',').length) throw new Error(`--cases must list ${CASES.map((c) => c.name).join('|')}`);

interface Row {
  /** The case (`tfjs-wasm`, …, or `auto → <chosen>`); named `backend` for bench/report.ts. */
  backend: string;
  variant: string;
  runs: number;
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

type RunResult =
  | { error: string }
  | { bytes: number; firstMaskMs: number; latencies: number[]; serving: number[]; mainThreadMs: number; seconds: number; chosen: string; why: string };

/** One cold run of one case in the page: createSegmenter → first mask, then `frames` frames. */
function runCase(page: import('playwright-core').Page, o: { model: string; backend: string; engine: string; frames: number; maxMs: number }): Promise<RunResult> {
  return page.evaluate(
    async ({ model, backend, engine, frames, maxMs }) => {
      interface Info {
        bytes: number;
        choice: { chosen: string; reason: string };
      }
      const api = (globalThis as unknown as { edgeseg: { createSegmenter(o: object): Promise<{ info: Info; whenCalibrated(): Promise<Info>; segment(s: HTMLCanvasElement): Promise<{ timings: { total: number }; calibrating: boolean }>; close(): Promise<void> }> } }).edgeseg;
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
        // Cold: no cached weights and no cached auto choice.
        seg = await api.createSegmenter({ model, backend, engine, cache: false });
      } catch (e) {
        return { error: (e as Error).message };
      }
      draw(0);
      await seg.segment(canvas);
      const firstMaskMs = performance.now() - t0;
      const latencies: number[] = [];
      // Frames served once `auto` has chosen: calibration runs no longer take turns with them.
      const serving: number[] = [];
      let main = 0;
      const start = performance.now();
      for (let i = 0; i < frames && performance.now() - start < maxMs; i++) {
        draw(i);
        const s = performance.now();
        const pending = seg.segment(canvas);
        main += performance.now() - s;
        const r = await pending;
        latencies.push(r.timings.total);
        if (!r.calibrating) serving.push(r.timings.total);
      }
      const info = await seg.whenCalibrated();
      await seg.close();
      return { bytes: info.bytes, firstMaskMs, latencies, serving, mainThreadMs: main / latencies.length, seconds: (performance.now() - start) / 1000, chosen: info.choice.chosen, why: info.choice.reason };
    },
    o,
  );
}

/**
 * runCase with a limit (load, warm-up and the frames may stall on an emulated GPU): past it the
 * case is reported as timed out and the page reloaded, so one stuck backend does not stop the run.
 */
async function guarded(page: import('playwright-core').Page, o: Parameters<typeof runCase>[1]): Promise<RunResult> {
  const limitMs = 4 * o.maxMs + 120_000;
  let timer: NodeJS.Timeout | undefined;
  // The abandoned evaluation rejects when the page reloads: caught, so it cannot end the process.
  const run = runCase(page, o).catch((e: Error): RunResult => ({ error: e.message }));
  const r = await Promise.race([run, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limitMs)))]);
  clearTimeout(timer);
  if (r) return r;
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return { error: `no result within ${(limitMs / 1000).toFixed(0)} s` };
}

const rows: Row[] = [];
const notes: string[] = [];
const autoRows = new Map<string, { row: Row; why: string }>();
try {
  const page = await openHarness(browser, server.url);
  console.log(`unet-small base 16 depth 4 (${gflop.toFixed(3)} GFLOP/frame), Chromium ${browser.version()}, ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`);
  for (const variant of variants) {
    for (const c of cases) {
      const runs: Exclude<RunResult, { error: string }>[] = [];
      let error: string | null = null;
      for (let k = 0; k < RUNS && !error; k++) {
        const r = await guarded(page, { model: `/models/bench/1-${variant}/`, backend: c.backend, engine: c.engine, frames: FRAMES, maxMs: MAX_SECONDS * 1000 });
        if ('error' in r) error = r.error;
        else {
          runs.push(r);
          console.log(`    ${c.name} ${variant} run ${k + 1}: first mask ${r.firstMaskMs.toFixed(0)} ms, ${r.latencies.length} frames${c.name === 'auto' ? `, chose ${r.chosen}` : ''}`);
        }
      }
      if (error) {
        notes.push(`${c.name} ${variant}: ${error}`);
        console.log(`  ${c.name} ${variant}: unavailable (${error})`);
        continue;
      }
      const med = (f: (r: (typeof runs)[number]) => number) => percentile(runs.map(f), 0.5);
      const all = runs.flatMap((r) => r.latencies);
      const k = Math.max(1, Math.min(50, Math.floor(runs[0].latencies.length / 2)));
      const chosen = [...new Set(runs.map((r) => r.chosen))].join('/');
      const row: Row = {
        backend: c.name === 'auto' ? `auto → ${chosen}` : c.name,
        variant,
        runs: runs.length,
        bytes: runs[0].bytes,
        firstMaskMs: med((r) => r.firstMaskMs),
        frames: Math.round(med((r) => r.latencies.length)),
        // Serving frames only (auto's calibration frames are its first-mask cost, not its steady state).
        p50Ms: med((r) => percentile(r.serving.length ? r.serving : r.latencies, 0.5)),
        p95Ms: med((r) => percentile(r.serving.length ? r.serving : r.latencies, 0.95)),
        fps: med((r) => r.latencies.length / r.seconds),
        mainThreadMs: med((r) => r.mainThreadMs),
        first50MedianMs: percentile(runs[0].latencies.slice(0, k), 0.5),
        last50MedianMs: percentile(runs[0].latencies.slice(-k), 0.5),
      };
      rows.push(row);
      if (c.name === 'auto') autoRows.set(variant, { row, why: runs[runs.length - 1].why });
      console.log(`  ${row.backend} ${variant} (median of ${runs.length}): first mask ${row.firstMaskMs.toFixed(0)} ms, p50 ${row.p50Ms.toFixed(1)} ms, p95 ${row.p95Ms.toFixed(1)} ms, ${row.fps.toFixed(1)} FPS over ${row.frames} frames (${all.length} in all); main thread ${row.mainThreadMs.toFixed(2)} ms/frame`);
      if (c.name === 'auto') console.log(`    auto: ${runs[runs.length - 1].why}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}

const find = (b: string, v: string) => rows.find((r) => r.backend === b && r.variant === v);
const ratios: Record<string, number> = {};
for (const b of ['tfjs-webgpu', 'tfjs-webgl', 'ort-wasm', 'ort-webgpu']) {
  const [x, wasm] = [find(b, variants[0]), find('tfjs-wasm', variants[0])];
  if (x && wasm) ratios[`${b}/tfjs-wasm p50 latency (${variants[0]})`] = x.p50Ms / wasm.p50Ms;
}
for (const b of ['tfjs-webgpu', 'tfjs-webgl', 'tfjs-wasm']) {
  const [f32, u8] = [find(b, 'fp32'), find(b, 'uint8')];
  if (f32 && u8) ratios[`${b} fp32/uint8 first mask`] = f32.firstMaskMs / u8.firstMaskMs;
}
// auto against the best hand-picked case of the same variant, figure by figure (the lowest first mask, the lowest p50).
const final: string[] = [];
for (const variant of variants) {
  const auto = autoRows.get(variant);
  const picked = rows.filter((r) => r.variant === variant && !r.backend.startsWith('auto'));
  if (!auto || picked.length === 0) continue;
  const bestFirst = picked.reduce((a, b) => (b.firstMaskMs < a.firstMaskMs ? b : a));
  const bestP50 = picked.reduce((a, b) => (b.p50Ms < a.p50Ms ? b : a));
  ratios[`auto/best first mask (${variant}, best ${bestFirst.backend})`] = auto.row.firstMaskMs / bestFirst.firstMaskMs;
  ratios[`auto/best p50 (${variant}, best ${bestP50.backend})`] = auto.row.p50Ms / bestP50.p50Ms;
  notes.push(`auto ${variant}: ${auto.why}`);
  if (variant === variants[0]) final.push(`auto/best first mask: ${(auto.row.firstMaskMs / bestFirst.firstMaskMs).toFixed(2)}x`, `auto/best p50: ${(auto.row.p50Ms / bestP50.p50Ms).toFixed(2)}x`);
}
const table = [
  `| backend × engine | variant | weight bytes | first mask ms (median of ${RUNS}) | frames | p50 ms | p95 ms | FPS | main-thread ms/frame | first-50 / last-50 median ms |`,
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.backend} | ${r.variant} | ${r.bytes.toLocaleString('en')} | ${r.firstMaskMs.toFixed(0)} | ${r.frames} | ${r.p50Ms.toFixed(1)} | ${r.p95Ms.toFixed(1)} | ${r.fps.toFixed(1)} | ${r.mainThreadMs.toFixed(2)} | ${r.first50MedianMs.toFixed(1)} / ${r.last50MedianMs.toFixed(1)} |`),
].join('\n');
const ratioLines = Object.entries(ratios).map(([k, v]) => `${k}: ${v.toFixed(2)}x`);
console.log(`\n${table}\n`);
for (const l of [...ratioLines, ...notes, ...final]) console.log(l);
mkdirSync(BENCH_OUT, { recursive: true });
const machine = `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, no GPU (WebGPU and WebGL on SwiftShader)`;
writeFileSync(benchOut('web.json'), JSON.stringify({ bench: 'web', machine, chromium: browser.version(), gflopPerFrame: gflop, runs: RUNS, rows, ratios, notes, measured: new Date().toISOString() }, null, 2));
writeFileSync(benchOut('web.md'), `# runtime-web in headless Chromium\n\nunet-small base 16 depth 4 (${gflop.toFixed(3)} GFLOP/frame), 640×480 canvas frames, sequential, up to ${FRAMES} frames or ${MAX_SECONDS} s per case, each case ${RUNS} cold runs (medians); ${machine}. SwiftShader numbers are CPU emulation, not GPU figures; no GPU machine was available.\n\n${table}\n\n${[...ratioLines, ...notes, ...final].map((l) => `- ${l}`).join('\n')}\n`);
