/// <reference lib="dom" />
/**
 * runtime-web for web developers, in Chromium on wasm with the shipped pets model (pets@2-uint8:
 * tfjs layers and an int8 ONNX file): masks at the frame's size, confidence masks, letterbox and
 * crop mapped back to the frame, timestamps, smoothing and reset, loading from ZIP bytes with
 * progress (and abort), a caller's ImageBitmap left open, the engines allow-list, and the lean
 * edgeseg/runtime-web/ort entry. Masks are checked against the Node runtime's for the same pixels.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { type FitMode } from '../../core/index.js';
import { normalizationOf } from '../../core/contract.js';
import { argmaxData, fitPlan, resampleData } from '../../core/output_geometry.js';
import { imageToInputData } from '../../core/preprocess.js';
import { fitPixels } from '../../core/upsample.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { tf } from '../../core/node/tfjs.js';
import { startWebServer } from '../../scripts/web_server.js';
import { buildWeb, launchBrowser, openHarness, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { sizedOnnx } from '../helpers/sized_onnx.js';

const MODELS = join(PACKAGE_ROOT, 'data', 'models');
const VERSION_DIR = join(MODELS, 'pets', '2-uint8');
const MODEL = '/models/pets/2-uint8/';
const PHOTO = join(PACKAGE_ROOT, 'data', 'oxford-pets-sample', 'images', 'Abyssinian_1.jpg');
/** The test frame: a real pet photo at a 4:3 size that is not the model's, as PNG (the same pixels in Node and Chromium). */
const FRAME = { width: 200, height: 150 };

/** Node's model-resolution mask for the same pixels, fit and the card's normalization. */
async function nodeModelMask(png: Buffer, fit: FitMode): Promise<Uint8Array> {
  const { model, card } = await loadLayersModel(VERSION_DIR);
  try {
    const img = await decodeImage(png);
    const pixels = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, img.channels], 'int32');
    const { input } = fitPixels(pixels, 128, 128, fit, normalizationOf(card));
    const logits = tf.tidy(() => model.predict(tf.expandDims(input)) as tf.Tensor);
    const data = (await logits.data()) as Float32Array;
    tf.dispose([pixels, input, logits]);
    return argmaxData(data, 3);
  } finally {
    model.dispose();
  }
}

/**
 * The frame-size mask core's JavaScript resampling makes from the page's own model-resolution
 * probabilities: log p differs from the logits by one value per pixel (the log-sum-exp), which
 * bilinear sampling carries to every class alike, so the argmax is that of the sampled logits.
 */
function expectedFromPlanes(planes: number[][], fit: FitMode): Uint8Array {
  const hwc = new Float32Array(128 * 128 * 3);
  for (let i = 0; i < 128 * 128; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = Math.log(Math.max(planes[c][i], 1e-30));
  const { window } = fitPlan(FRAME.width, FRAME.height, 128, 128, fit);
  return argmaxData(resampleData(hwc, 128, 128, 3, window, FRAME.width, FRAME.height), 3);
}

/** The page's masks of the test frame with `fit`: the model-resolution mask and probabilities, and the category mask at the input size. */
function pageMasks(page: Page, b64: string, fit: FitMode) {
  return page.evaluate(
    async ({ model, b64, fit }) => {
      const api = (globalThis as Window).edgeseg;
      const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
      const atModel = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', fit, outputs: { categoryMask: false, confidenceMasks: true }, cache: false });
      const atInput = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', fit, outputSize: 'input', cache: false });
      try {
        const a = await atModel.segment(blob);
        const b = await atInput.segment(blob);
        const m = b.categoryMask!;
        return { modelMask: Array.from(a.mask), planes: a.confidenceMasks!.map((c) => Array.from(c.toFloat32Array())), ids: Array.from(m.toUint8Array()), size: [m.width, m.height], labels: b.labels, infoLabels: atInput.info.labels, confidence: b.confidenceMasks };
      } finally {
        await atModel.close();
        await atInput.close();
      }
    },
    { model: MODEL, b64, fit },
  );
}

const agreement = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += Number(a[i] === b[i]);
  return same / a.length;
};

/** A page-side helper: the PNG as a Blob. */
type Api = {
  createSegmenter(o: object): Promise<{
    info: { engine: { chosen: string }; labels: string[]; choice: { table: { candidate: string }[] } };
    segment(s: unknown, o?: object): Promise<PageResult>;
    segmentStream(s: unknown, onResult: (r: PageResult) => void, onError?: (e: Error) => void): { stop(): Promise<void>; stats(): { frames: number } };
    reset(): Promise<void>;
    close(): Promise<void>;
  }>;
};
interface PageMask {
  width: number;
  height: number;
  toUint8Array(): Uint8Array;
  toFloat32Array(): Float32Array;
  toImageBitmap(): Promise<ImageBitmap>;
  close(): void;
}
interface PageResult {
  mask: Uint8Array;
  categoryMask: PageMask | null;
  confidenceMasks: PageMask[] | null;
  labels: string[];
  timestampMs: number;
  engine: string;
}
type Window = typeof globalThis & { edgeseg: Api };

describe('runtime-web outputs, video and loading in Chromium (pets@2-uint8 on wasm)', () => {
  let server: Awaited<ReturnType<typeof startWebServer>>;
  let browser: Browser;
  let page: Page;
  let png: Buffer;
  let b64: string;

  before(async () => {
    await activateWasm();
    png = await sharp(readFileSync(PHOTO)).resize(FRAME.width, FRAME.height, { fit: 'fill' }).png().toBuffer();
    b64 = png.toString('base64');
    await buildWeb();
    server = await startWebServer({ dist: HARNESS_DIST, models: MODELS });
    browser = await launchBrowser({ webgpu: false });
    page = await openHarness(browser, server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('returns the category mask at the input size: the model\'s logits sampled bilinearly over the frame, then the argmax (core\'s resampling of the same probabilities, ≥ 99.9% of pixels), with the card\'s labels', async () => {
    const r = await pageMasks(page, b64, 'squash');
    assert.deepEqual(r.size, [FRAME.width, FRAME.height]);
    assert.deepEqual(r.labels, ['pet', 'background', 'border']);
    assert.deepEqual(r.infoLabels, r.labels);
    assert.equal(r.confidence, null, 'confidence masks only when asked for');
    const exact = agreement(r.ids, expectedFromPlanes(r.planes, 'squash'));
    assert.ok(exact >= 0.999, `${(100 * exact).toFixed(3)}% of pixels are core's bilinear-then-argmax`);
    const node = agreement(r.modelMask, await nodeModelMask(png, 'squash'));
    assert.ok(node >= 0.99, `the model-resolution mask: ${(100 * node).toFixed(2)}% of pixels agree with Node`);
  });

  it('returns one confidence mask per class that sums to 1 per pixel, whose argmax is the category mask; masks draw to bitmaps and refuse reads once closed', async () => {
    const r = await page.evaluate(
      async ({ model, b64 }) => {
        const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', outputSize: { width: 96, height: 72 }, outputs: { categoryMask: true, confidenceMasks: true }, cache: false });
        try {
          const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
          const res = await seg.segment(blob);
          const ids = Array.from(res.categoryMask!.toUint8Array());
          const planes = res.confidenceMasks!.map((m) => Array.from(m.toFloat32Array()));
          const bytes = Array.from(res.confidenceMasks![0].toUint8Array());
          const bitmap = await res.categoryMask!.toImageBitmap();
          const conf = await res.confidenceMasks![0].toImageBitmap();
          const sizes = [bitmap.width, bitmap.height, conf.width, conf.height];
          bitmap.close();
          conf.close();
          res.categoryMask!.close();
          let closedCode = '';
          try {
            res.categoryMask!.toUint8Array();
          } catch (e) {
            closedCode = String((e as { code?: string }).code);
          }
          return { ids, planes, bytes, sizes, closedCode, size: [res.confidenceMasks![0].width, res.confidenceMasks![0].height] };
        } finally {
          await seg.close();
        }
      },
      { model: MODEL, b64 },
    );
    assert.deepEqual(r.size, [96, 72]);
    assert.equal(r.planes.length, 3);
    let argmaxAgrees = 0;
    for (let i = 0; i < 96 * 72; i++) {
      const p = [r.planes[0][i], r.planes[1][i], r.planes[2][i]];
      assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-4, `pixel ${i}: probabilities sum to ${p[0] + p[1] + p[2]}`);
      argmaxAgrees += Number(p.indexOf(Math.max(...p)) === r.ids[i]);
    }
    // The category mask is the argmax of the upsampled logits, the confidence their softmax: the same winner.
    assert.ok(argmaxAgrees / (96 * 72) >= 0.999, `${argmaxAgrees} of ${96 * 72} pixels: the confidence argmax is the category`);
    assert.deepEqual(r.bytes, r.planes[0].map((p) => Math.round(p * 255)));
    assert.deepEqual(r.sizes, [96, 72, 96, 72]);
    assert.equal(r.closedCode, 'CONFIG_INVALID');
  });

  it('maps letterbox and crop back to the frame: the model sees the frame fitted as Node fits it, and its output is sampled back over the frame\'s window', async () => {
    for (const fit of ['letterbox', 'crop'] as const) {
      const r = await pageMasks(page, b64, fit);
      assert.deepEqual(r.size, [FRAME.width, FRAME.height]);
      const exact = agreement(r.ids, expectedFromPlanes(r.planes, fit));
      assert.ok(exact >= 0.999, `${fit}: ${(100 * exact).toFixed(3)}% of pixels are core's mapping back`);
      const node = agreement(r.modelMask, await nodeModelMask(png, fit));
      assert.ok(node >= 0.99, `${fit}: the model-resolution mask: ${(100 * node).toFixed(2)}% of pixels agree with Node`);
    }
    // Letterbox leaves bands the frame does not cover (4:3 in a square): the mask there is not the frame's.
    const squash = await pageMasks(page, b64, 'squash');
    const letterbox = await pageMasks(page, b64, 'letterbox');
    assert.ok(agreement(squash.modelMask, letterbox.modelMask) < 0.99, 'letterbox changes what the model sees');
  });

  it('mirrors and rotates frames before segmenting: the same masks as for a frame flipped or turned by the caller', async () => {
    const r = await page.evaluate(
      async ({ model, b64 }) => {
        const api = (globalThis as Window).edgeseg;
        const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
        const photo = await createImageBitmap(blob);
        const turned = (mirror: boolean, rotation: number) => {
          const quarter = rotation % 180 !== 0;
          const c = new OffscreenCanvas(quarter ? photo.height : photo.width, quarter ? photo.width : photo.height);
          const g = c.getContext('2d')!;
          if (mirror) {
            g.translate(c.width, 0);
            g.scale(-1, 1);
          }
          g.translate(c.width / 2, c.height / 2);
          g.rotate((rotation * Math.PI) / 180);
          g.drawImage(photo, -photo.width / 2, -photo.height / 2);
          return c.transferToImageBitmap();
        };
        const out: Record<string, { same: boolean; size: number[] }> = {};
        const plain = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', outputSize: 'input', cache: false });
        for (const [mirror, rotation] of [[true, 0], [false, 90], [true, 270]] as const) {
          const seg = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', outputSize: 'input', mirror, rotation, cache: false });
          const a = (await seg.segment(photo)).categoryMask!;
          const b = (await plain.segment(turned(mirror, rotation))).categoryMask!;
          const [x, y] = [a.toUint8Array(), b.toUint8Array()];
          out[`${mirror ? 'mirror ' : ''}${rotation}`] = { same: x.length === y.length && x.every((v, i) => v === y[i]), size: [a.width, a.height] };
          await seg.close();
        }
        await plain.close();
        photo.close();
        return out;
      },
      { model: MODEL, b64 },
    );
    assert.deepEqual(r, {
      'mirror 0': { same: true, size: [FRAME.width, FRAME.height] },
      '90': { same: true, size: [FRAME.height, FRAME.width] },
      'mirror 270': { same: true, size: [FRAME.height, FRAME.width] },
    });
  });

  it('carries timestamps: a VideoFrame\'s own, the one passed to segment, and each frame\'s from a ReadableStream of VideoFrames and from a MediaStreamTrack, both read in the worker', async () => {
    const r = await page.evaluate(
      async ({ model, b64 }) => {
        const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false });
        try {
          const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
          const bitmap = await createImageBitmap(blob);
          const frame = new VideoFrame(bitmap, { timestamp: 123_456 });
          const fromFrame = (await seg.segment(frame)).timestampMs;
          frame.close();
          const given = (await seg.segment(bitmap, { timestampMs: 42 })).timestampMs;
          const stamps = [1_000, 34_333, 67_666, 101_000];
          const stream = new ReadableStream<VideoFrame>({
            start(controller) {
              for (const t of stamps) controller.enqueue(new VideoFrame(bitmap, { timestamp: t }));
              controller.close();
            },
          });
          const seen: number[] = [];
          const done = new Promise<void>((resolve, reject) => {
            const handle = seg.segmentStream(stream, (res) => {
              seen.push(res.timestampMs);
              if (res.timestampMs === stamps[stamps.length - 1] / 1000) void handle.stop().then(resolve);
            }, reject);
          });
          await done;
          // A camera-like MediaStreamTrack (a canvas' capture stream), read through a track processor in the worker.
          const canvas = document.createElement('canvas');
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
          const ctx = canvas.getContext('2d')!;
          const track = canvas.captureStream(30).getVideoTracks()[0];
          const fromTrack: number[] = [];
          let drawn = 0;
          const timer = setInterval(() => {
            ctx.drawImage(bitmap, (drawn++ % 3) - 1, 0);
          }, 30);
          await new Promise<void>((resolve, reject) => {
            const handle = seg.segmentStream(track, (res) => {
              fromTrack.push(res.timestampMs);
              if (fromTrack.length === 3) void handle.stop().then(resolve);
            }, reject);
          });
          clearInterval(timer);
          track.stop();
          bitmap.close();
          return { fromFrame, given, seen, stamps, fromTrack };
        } finally {
          await seg.close();
        }
      },
      { model: MODEL, b64 },
    );
    assert.equal(r.fromFrame, 123.456);
    assert.equal(r.given, 42);
    // Latest frame first: some frames may be dropped, never reordered, and the last one always comes.
    assert.ok(r.seen.length >= 1 && r.seen.length <= r.stamps.length, `${r.seen.length} results`);
    assert.deepEqual(r.seen, [...r.seen].sort((a, b) => a - b));
    for (const t of r.seen) assert.ok(r.stamps.map((s) => s / 1000).includes(t), `timestamp ${t} is one of the frames'`);
    assert.equal(r.seen.at(-1), r.stamps.at(-1)! / 1000);
    assert.equal(r.fromTrack.length, 3, 'a MediaStreamTrack is segmented too');
    assert.ok(r.fromTrack.every((t, i) => i === 0 || t > r.fromTrack[i - 1]), `track timestamps rise: ${r.fromTrack.join(', ')}`);
  });

  it('smooths: each frame\'s probabilities are combineWithPreviousRatio × the previous frame\'s + the rest × its own, until reset()', async () => {
    const r = await page.evaluate(
      async ({ model, b64 }) => {
        const api = (globalThis as Window).edgeseg;
        const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
        const photo = await createImageBitmap(blob);
        const dark = new OffscreenCanvas(photo.width, photo.height);
        const g = dark.getContext('2d')!;
        g.fillStyle = '#203040';
        g.fillRect(0, 0, dark.width, dark.height);
        const plain = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', outputs: { categoryMask: false, confidenceMasks: true }, cache: false });
        const smooth = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', outputs: { categoryMask: false, confidenceMasks: true }, smoothing: { combineWithPreviousRatio: 0.7 }, cache: false });
        const pet = (r: PageResult) => Array.from(r.confidenceMasks![0].toFloat32Array());
        try {
          const a = pet(await plain.segment(photo));
          const b = pet(await plain.segment(dark));
          const first = pet(await smooth.segment(photo));
          const blended = pet(await smooth.segment(dark));
          await smooth.reset();
          const afterReset = pet(await smooth.segment(dark));
          return { a, b, first, blended, afterReset };
        } finally {
          photo.close();
          await plain.close();
          await smooth.close();
        }
      },
      { model: MODEL, b64 },
    );
    const maxDiff = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
    assert.ok(maxDiff(r.first, r.a) < 1e-5, 'the first frame has no previous one');
    assert.ok(maxDiff(r.blended, r.a.map((p, i) => 0.7 * p + 0.3 * r.b[i])) < 1e-4, 'the second frame is the blend');
    assert.ok(maxDiff(r.b, r.a) > 0.1, 'the two scenes differ, so the blend is tested');
    assert.ok(maxDiff(r.afterReset, r.b) < 1e-5, 'reset() forgets the previous frame');
  });

  it('loads from the bytes of a ZIP of the version directory with progress for every file, the same masks as from its URL; an abort rejects with its reason', async () => {
    const files = Object.fromEntries(readdirSync(VERSION_DIR).map((f) => [`2-uint8/${f}`, new Uint8Array(readFileSync(join(VERSION_DIR, f)))]));
    const zip = Buffer.from(zipSync(files)).toString('base64');
    const r = await page.evaluate(
      async ({ model, b64, zip }) => {
        const api = (globalThis as Window).edgeseg;
        const bytes = Uint8Array.from(atob(zip), (c) => c.charCodeAt(0));
        const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
        const events: { file: string; loaded: number; total: number }[] = [];
        const fromBytes = await api.createSegmenter({ model: bytes, backend: 'wasm', engine: 'tfjs', onProgress: (p: { file: string; loaded: number; total: number }) => events.push(p) });
        const urlEvents: { file: string; loaded: number; total: number }[] = [];
        const fromUrl = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false, onProgress: (p: { file: string; loaded: number; total: number }) => urlEvents.push(p) });
        const a = Array.from((await fromBytes.segment(blob)).mask);
        const b = Array.from((await fromUrl.segment(blob)).mask);
        await fromBytes.close();
        await fromUrl.close();
        const controller = new AbortController();
        const pending = api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false, signal: controller.signal });
        controller.abort(new Error('the user left'));
        const aborted = await pending.then(
          (s) => {
            void s.close();
            return 'resolved';
          },
          (e: Error) => e.message,
        );
        return { events, urlEvents, same: a.every((v, i) => v === b[i]), aborted };
      },
      { model: MODEL, b64, zip },
    );
    const listed = readFileSync(join(VERSION_DIR, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[1]);
    for (const events of [r.events, r.urlEvents]) {
      for (const file of listed) {
        const last = events.filter((e) => e.file === file).at(-1);
        assert.ok(last, `progress for ${file}`);
        assert.equal(last.loaded, readFileSync(join(VERSION_DIR, file)).length, `${file} loaded in full`);
      }
    }
    // The URL's files arrive in chunks: the big ones report more than once, with loaded rising to total.
    const onnx = r.urlEvents.filter((e) => e.file === 'model.int8.onnx');
    assert.ok(onnx.every((e, i) => i === 0 || e.loaded >= onnx[i - 1].loaded));
    assert.equal(onnx.at(-1)!.total, onnx.at(-1)!.loaded);
    assert.ok(r.same, 'the same masks from bytes and from the URL');
    assert.equal(r.aborted, 'the user left');
  });

  it('leaves a caller\'s ImageBitmap open unless transfer: true', async () => {
    const r = await page.evaluate(
      async ({ model, b64 }) => {
        const api = (globalThis as Window).edgeseg;
        const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
        const kept = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false });
        const handed = await api.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false, transfer: true });
        try {
          const bitmap = await createImageBitmap(blob);
          await kept.segment(bitmap);
          const afterCopy = [bitmap.width, bitmap.height];
          await handed.segment(bitmap);
          return { afterCopy, afterTransfer: [bitmap.width, bitmap.height] };
        } finally {
          await kept.close();
          await handed.close();
        }
      },
      { model: MODEL, b64 },
    );
    assert.deepEqual(r.afterCopy, [FRAME.width, FRAME.height], 'still open: the caller closes it');
    assert.deepEqual(r.afterTransfer, [0, 0], 'transferred and closed');
  });

  it('never fetches ONNX Runtime\'s binary when the page allows only tfjs, although the version has an ONNX file', async () => {
    const requests: string[] = [];
    const listen = (req: { url(): string }) => requests.push(req.url());
    page.context().on('request', listen);
    try {
      const r = await page.evaluate(
        async ({ model, b64 }) => {
          const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engines: ['tfjs'], cache: false, calibrationBudgetMs: 0 });
          try {
            const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
            await seg.segment(blob);
            return { engine: seg.info.engine.chosen, table: seg.info.choice.table.map((t) => t.candidate) };
          } finally {
            await seg.close();
          }
        },
        { model: MODEL, b64 },
      );
      assert.equal(r.engine, 'tfjs');
      assert.ok(!r.table.some((c) => c.startsWith('ort')), `no ONNX Runtime candidate: ${r.table.join(', ')}`);
      assert.ok(!requests.some((u) => u.includes('ort-wasm')), `requests: ${requests.filter((u) => u.endsWith('.wasm')).join(', ')}`);
      assert.ok(requests.some((u) => u.includes('tfjs-backend-wasm')), 'the page\'s worker requests are seen');
    } finally {
      page.context().off('request', listen);
    }
  });

  it('runs the lean edgeseg/runtime-web/ort entry (no tfjs in its worker): the full entry\'s ONNX Runtime masks at the input size, squashed and letterboxed (≥ 99% of pixels)', async () => {
    const lean = await openHarness(browser, server.url, 'harness_ort');
    try {
      const run = (p: Page, fit: FitMode) =>
        p.evaluate(
          async ({ model, b64, fit }) => {
            const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'ort', outputSize: 'input', fit, cache: false });
            try {
              const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
              const res = await seg.segment(blob);
              return { engine: res.engine, ids: Array.from(res.categoryMask!.toUint8Array()), size: [res.categoryMask!.width, res.categoryMask!.height] };
            } finally {
              await seg.close();
            }
          },
          { model: MODEL, b64, fit },
        );
      // Its preprocessing and mapping back are plain JavaScript: the full entry's tfjs ops give the same masks, letterboxed too.
      for (const fit of ['squash', 'letterbox'] as const) {
        const [leanResult, full] = [await run(lean, fit), await run(page, fit)];
        assert.equal(leanResult.engine, 'ort');
        assert.deepEqual(leanResult.size, [FRAME.width, FRAME.height]);
        const agree = agreement(leanResult.ids, full.ids);
        assert.ok(agree >= 0.99, `${fit}: ${(100 * agree).toFixed(2)}% of pixels agree with the full entry's ONNX Runtime engine`);
      }
    } finally {
      await lean.close();
    }
    // The built lean worker holds none of tfjs: not its flags, not its backends.
    const assets = join(HARNESS_DIST, 'assets');
    const worker = readdirSync(assets).find((f) => f.startsWith('worker_ort') && f.endsWith('.js'));
    assert.ok(worker, `a worker_ort chunk in ${assets}`);
    const code = readFileSync(join(assets, worker), 'utf8');
    for (const marker of ['WEBGL_VERSION', 'WASM_HAS_MULTITHREAD_SUPPORT', 'tfjs-backend-wasm']) assert.ok(!code.includes(marker), `the lean worker contains ${marker}`);
  });

  it('runs the lean edgeseg/runtime-web/tfjs entry (no ONNX Runtime in its worker): tfjs only, although the version has an ONNX file', async () => {
    const lean = await openHarness(browser, server.url, 'harness_tfjs');
    try {
      const r = await lean.evaluate(
        async ({ model, b64 }) => {
          const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', outputSize: 'input', cache: false });
          try {
            const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
            const res = await seg.segment(blob);
            return { engine: res.engine, table: seg.info.choice.table.map((t) => t.candidate), size: [res.categoryMask!.width, res.categoryMask!.height] };
          } finally {
            await seg.close();
          }
        },
        { model: MODEL, b64 },
      );
      assert.equal(r.engine, 'tfjs');
      assert.ok(!r.table.some((c) => c.startsWith('ort')), `no ONNX Runtime candidate: ${r.table.join(', ')}`);
      assert.deepEqual(r.size, [FRAME.width, FRAME.height]);
    } finally {
      await lean.close();
    }
    const assets = join(HARNESS_DIST, 'assets');
    const worker = readdirSync(assets).find((f) => f.startsWith('worker_tfjs') && f.endsWith('.js'));
    assert.ok(worker, `a worker_tfjs chunk in ${assets}`);
    const code = readFileSync(join(assets, worker), 'utf8');
    for (const marker of ['ort-wasm-simd-threaded', 'InferenceSession']) assert.ok(!code.includes(marker), `the tfjs-only worker contains ${marker}`);
  });

  it('honours an imported model\'s own input size and classes (96×64, 5 classes, "background" first) on ONNX Runtime, in the full and the lean entry', async () => {
    const [HEIGHT, WIDTH, CLASSES] = [64, 96, 5];
    const root = tempDir('web-geometry');
    const file = join(root, 'five.onnx');
    const model = sizedOnnx({ height: HEIGHT, width: WIDTH, classes: CLASSES });
    writeFileSync(file, model);
    const imported = await runCli(['import', file, '--name', 'five', '--models', root, '--normalize', 'unit', '--labels', 'background,b,c,d,e']);
    assert.equal(imported.code, 0, imported.stderr);
    // Node's ONNX Runtime by hand on the same pixels, at the model's own size.
    const x = imageToInputData(await decodeImage(png), 'unit', { height: HEIGHT, width: WIDTH });
    const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
    const logits = (await session.run({ pixels: new ort.Tensor('float32', x, [1, HEIGHT, WIDTH, 3]) })).scores.data as Float32Array;
    await session.release();
    const byHand = argmaxData(logits, CLASSES);
    const own = await startWebServer({ dist: HARNESS_DIST, models: root });
    try {
      for (const harness of ['harness', 'harness_ort']) {
        const p = await openHarness(browser, own.url, harness);
        try {
          const r = await p.evaluate(
            async ({ b64 }) => {
              const seg = await (globalThis as Window).edgeseg.createSegmenter({ model: '/models/five/1/', backend: 'wasm', engine: 'ort', outputSize: 'input', cache: false });
              try {
                const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
                const res = await seg.segment(blob);
                const info = seg.info as unknown as { labels: string[]; inputSize: { width: number; height: number } };
                return { labels: info.labels, inputSize: info.inputSize, background: (res as unknown as { backgroundClass: number | null }).backgroundClass, mask: Array.from(res.mask), size: [res.categoryMask!.width, res.categoryMask!.height], ids: Array.from(res.categoryMask!.toUint8Array()) };
              } finally {
                await seg.close();
              }
            },
            { b64 },
          );
          assert.deepEqual(r.labels, ['background', 'b', 'c', 'd', 'e'], harness);
          assert.deepEqual(r.inputSize, { width: WIDTH, height: HEIGHT }, harness);
          assert.equal(r.background, 0, harness);
          assert.deepEqual(r.size, [FRAME.width, FRAME.height], harness);
          assert.equal(r.mask.length, WIDTH * HEIGHT, harness);
          assert.deepEqual(new Set(r.ids), new Set([0, 1, 2, 3, 4]), `${harness}: every class of the 5 appears (one vertical band each)`);
          const agree = agreement(r.mask, byHand);
          assert.ok(agree >= 0.99, `${harness}: ${(100 * agree).toFixed(2)}% of the model-size mask is ONNX Runtime's by hand in Node`);
        } finally {
          await p.close();
        }
      }
    } finally {
      await own.close();
    }
  });
});
