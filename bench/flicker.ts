/**
 * `npm run bench:flicker`: what temporal smoothing buys on video (issue 25's goal: flicker −50%
 * at ≤ 1 fg IoU point of cost), in headless Chromium with runtime-web on wasm.
 *
 * The clips are real: each held-out photo of the pet sample (with its trimap) as a still scene
 * filmed by a 640×480 camera, frame after frame: the photo plus the sensor's noise (Gaussian,
 * σ = 4 grey levels) and a hand-held jitter of up to 1 px, seeded. Each clip is segmented twice,
 * frame by frame in order, by two segmenters that differ only in `smoothing`
 * (`combineWithPreviousRatio`), masks at the frame's size. Flicker is the share of pixels that
 * change class between consecutive frames; the cost is the foreground IoU against the trimaps
 * (pooled over every frame of every clip).
 *
 * Writes bench/out/flicker.json.
 *
 *   npm run bench:flicker [-- --photos 6 --frames 24 --ratio 0.7 --model /models/pets/2-fp16/]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ConfusionMatrix, NUM_CLASSES } from '../core/index.js';
import { trimapToClassIds } from '../core/preprocess.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { openDataset } from '../datasets/dataset.js';
import { startWebServer } from '../scripts/web_server.js';
import { buildWeb, launchBrowser, openHarness, HARNESS_DIST } from './helpers/browser.js';
import { BENCH_OUT, benchOut } from './helpers/smoke.js';

const { values: args } = parseArgs({ options: { photos: { type: 'string', default: '6' }, frames: { type: 'string', default: '24' }, ratio: { type: 'string', default: '0.7' }, model: { type: 'string', default: '/models/pets/2-fp16/' } } });
const PHOTOS = Math.max(1, Math.min(50, Number(args.photos)));
const FRAMES = Math.max(2, Math.min(200, Number(args.frames)));
const RATIO = Number(args.ratio);
const SIZE = { width: 640, height: 480 };
const SAMPLE = join(PACKAGE_ROOT, 'data', 'oxford-pets-sample');
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

const dataset = await openDataset(`oxford:${SAMPLE}`, { splits: ['test'], log: quiet, print: () => {} });
const clips: { id: string; png: string; truth: string }[] = [];
for (let i = 0; i < Math.min(PHOTOS, dataset.test.size); i++) {
  const s = await dataset.test.get(i);
  const file = (part: string) => {
    const p = s.files.find((f) => f.path.includes(part))!.path;
    return join(SAMPLE, p.slice(p.indexOf(part)));
  };
  const png = await sharp(readFileSync(file('images/'))).removeAlpha().resize(SIZE.width, SIZE.height, { fit: 'fill' }).png().toBuffer();
  const trimap = await sharp(readFileSync(file('annotations/trimaps/'))).extractChannel(0).resize(SIZE.width, SIZE.height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer();
  clips.push({ id: s.id, png: png.toString('base64'), truth: Buffer.from(trimapToClassIds(new Uint8Array(trimap))).toString('base64') });
}

await buildWeb();
const server = await startWebServer({ dist: HARNESS_DIST, models: join(PACKAGE_ROOT, 'data', 'models') });
const browser = await launchBrowser({ webgpu: false });
try {
  const page = await openHarness(browser, server.url);
  const out = await page.evaluate(
    async ({ model, clips, frames, ratio, size }) => {
      type Seg = { segment(s: ImageBitmap): Promise<{ categoryMask: { toUint8Array(): Uint8Array; close(): void } }>; close(): Promise<void> };
      const api = (globalThis as unknown as { edgeseg: { createSegmenter(o: object): Promise<Seg> } }).edgeseg;
      const common = { model, backend: 'wasm', engine: 'tfjs', outputSize: 'input', cache: false };
      const plain = await api.createSegmenter(common);
      const smooth = await api.createSegmenter({ ...common, smoothing: { combineWithPreviousRatio: ratio } });
      const rows = [];
      for (const [k, clip] of clips.entries()) {
        const photo = await createImageBitmap(new Blob([Uint8Array.from(atob(clip.png), (c) => c.charCodeAt(0))], { type: 'image/png' }));
        const truth = Uint8Array.from(atob(clip.truth), (c) => c.charCodeAt(0));
        const canvas = new OffscreenCanvas(size.width + 4, size.height + 4);
        const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(photo, 2, 2, size.width, size.height);
        // Edge pixels repeat into the 2 px margin the jitter can reach.
        ctx.drawImage(photo, 0, 0, size.width + 4, size.height + 4);
        ctx.drawImage(photo, 2, 2, size.width, size.height);
        const base = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        // mulberry32, seeded per clip: the same clip every run.
        let a = 1000 + k;
        const rand = () => {
          a = (a + 0x6d2b79f5) | 0;
          let t = Math.imul(a ^ (a >>> 15), 1 | a);
          t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        const result: Record<string, { changed: number; pairs: number; confusion: number[] }> = {};
        const last: Record<string, Uint8Array | null> = { plain: null, smooth: null };
        for (const name of ['plain', 'smooth']) result[name] = { changed: 0, pairs: 0, confusion: new Array(9).fill(0) };
        for (let f = 0; f < frames; f++) {
          const dx = 2 + Math.round(rand() * 2 - 1);
          const dy = 2 + Math.round(rand() * 2 - 1);
          const img = new ImageData(size.width, size.height);
          for (let y = 0; y < size.height; y++) {
            for (let x = 0; x < size.width; x++) {
              const s = ((y + dy) * canvas.width + x + dx) * 4;
              const d = (y * size.width + x) * 4;
              for (let c = 0; c < 3; c++) img.data[d + c] = base[s + c] + 4 * gauss();
              img.data[d + 3] = 255;
            }
          }
          const frame = await createImageBitmap(img);
          for (const [name, seg] of [['plain', plain], ['smooth', smooth]] as const) {
            const r = await seg.segment(frame);
            const ids = r.categoryMask.toUint8Array();
            r.categoryMask.close();
            const row = result[name];
            const prev = last[name];
            if (prev) {
              let changed = 0;
              for (let i = 0; i < ids.length; i++) changed += Number(ids[i] !== prev[i]);
              row.changed += changed / ids.length;
              row.pairs++;
            }
            for (let i = 0; i < ids.length; i++) row.confusion[truth[i] * 3 + ids[i]]++;
            last[name] = ids;
          }
          frame.close();
        }
        photo.close();
        rows.push({ id: clip.id, plain: result.plain, smooth: result.smooth });
        // A new clip is a scene cut.
        await (smooth as unknown as { reset(): Promise<void> }).reset();
      }
      await plain.close();
      await smooth.close();
      return rows;
    },
    { model: args.model!, clips, frames: FRAMES, ratio: RATIO, size: SIZE },
  );
  const total = { plain: { changed: 0, pairs: 0, cm: new ConfusionMatrix() }, smooth: { changed: 0, pairs: 0, cm: new ConfusionMatrix() } };
  for (const row of out) {
    for (const name of ['plain', 'smooth'] as const) {
      const r = row[name];
      total[name].changed += r.changed;
      total[name].pairs += r.pairs;
      const cm = new ConfusionMatrix();
      r.confusion.forEach((n, i) => (cm.counts[i] = n));
      total[name].cm.merge(cm);
      console.log(`  ${row.id} ${name}: flicker ${((100 * r.changed) / r.pairs).toFixed(3)}% of pixels per frame, fg IoU ${(100 * cm.foregroundIou()).toFixed(2)}%`);
    }
  }
  const flicker = (n: 'plain' | 'smooth') => total[n].changed / total[n].pairs;
  const [fp, fs] = [flicker('plain'), flicker('smooth')];
  const [ip, is] = [total.plain.cm.foregroundIou(), total.smooth.cm.foregroundIou()];
  console.log(`${out.length} clips × ${FRAMES} frames at ${SIZE.width}×${SIZE.height} (${NUM_CLASSES} classes), ${args.model}, wasm`);
  console.log(`flicker without smoothing: ${(100 * fp).toFixed(3)}% of pixels change class per frame; with combineWithPreviousRatio ${RATIO}: ${(100 * fs).toFixed(3)}% (${((100 * (fs - fp)) / fp).toFixed(1)}%; goal ≤ −50%)`);
  console.log(`fg IoU without smoothing ${(100 * ip).toFixed(2)}%, with ${(100 * is).toFixed(2)}% (${((is - ip) * 100).toFixed(2)} points; goal ≥ −1)`);
  mkdirSync(BENCH_OUT, { recursive: true });
  const result = { measured: new Date().toISOString(), model: args.model, clips: out.length, frames: FRAMES, size: SIZE, ratio: RATIO, flicker: { plain: fp, smooth: fs }, foregroundIou: { plain: ip, smooth: is } };
  writeFileSync(benchOut('flicker.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  await browser.close();
  await server.close();
}
