/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { syntheticSample } from '../../core/index.js';
import { imageToInput, resizeMask } from '../../core/preprocess.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { startWebServer } from '../../scripts/web_server.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { train } from '../../trainer/train.js';
import { buildWeb, launchBrowser, openHarness, writeSyntheticClip, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { quiet } from '../helpers/log.js';

/** The part of runtime-web's API the tests drive (window.edgeseg on the harness page). */
interface HarnessSegmenter {
  info: { backend: string; skipped: Record<string, string>; modelVersion: string; fromCache: boolean };
  segment(source: Blob): Promise<{ mask: Uint8Array; backend: string; frameMask: { data: Uint8Array; width: number; height: number } | null }>;
  memory(): Promise<{ numTensors: number }>;
  close(): Promise<void>;
}
type Window = typeof globalThis & { edgeseg: { createSegmenter(o: { model: string; backend?: string; frameSizeMask?: boolean }): Promise<HarnessSegmenter> } };
const ARTIFACTS = 'test-results/e2e';

/** Still fixtures of several sizes and aspect ratios, as PNG (exact pixels in Node and Chromium). */
const FIXTURES: [index: number, width: number, height: number][] = [
  [0, 128, 128],
  [1, 200, 150],
  [2, 96, 160],
  [3, 333, 250],
];

function agreement(a: number[], b: number[]): number {
  return a.filter((c, i) => c === b[i]).length / a.length;
}

/** Masks of the fixtures from runtime-web in the page, on one backend. */
function browserMasks(page: Page, model: string, backend: string, images: string[]) {
  return page.evaluate(
    async ({ model, backend, images }) => {
      const { createSegmenter } = (globalThis as Window).edgeseg;
      const seg = await createSegmenter({ model, backend, frameSizeMask: true });
      try {
        const masks: number[][] = [];
        const frameMasks: { data: number[]; width: number; height: number }[] = [];
        for (const b64 of images) {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const r = await seg.segment(new Blob([bytes], { type: 'image/png' }));
          masks.push(Array.from(r.mask));
          frameMasks.push({ data: Array.from(r.frameMask!.data), width: r.frameMask!.width, height: r.frameMask!.height });
        }
        return { backend: seg.info.backend, skipped: seg.info.skipped, fromCache: seg.info.fromCache, masks, frameMasks };
      } finally {
        await seg.close();
      }
    },
    { model, backend, images },
  );
}

describe('runtime-web in Chromium (real WebGPU on SwiftShader)', () => {
  let root: string;
  let server: Awaited<ReturnType<typeof startWebServer>>;
  let modelUrl: string;
  let pngs: Buffer[];
  let reference: number[][];

  before(async () => {
    await activateWasm();
    root = tempDir('web');
    const [, trained] = await Promise.all([
      buildWeb(),
      train({ data: 'synthetic:count=64,size=128,seed=3', modelConfig: { baseFilters: 4, depth: 3 }, epochs: 2, batchSize: 8, learningRate: 3e-3, backend: 'wasm', models: root, reportSamples: 0 }, { log: quiet, print: () => {} }),
    ]);
    modelUrl = `/models/unet-small/${trained.version}/`;
    server = await startWebServer({ dist: HARNESS_DIST, models: root });
    pngs = await Promise.all(
      FIXTURES.map(([i, w, h]) => {
        const s = syntheticSample(i, { size: 128, seed: 9 });
        return sharp(s.image.data, { raw: { width: 128, height: 128, channels: 3 } }).resize(w, h, { fit: 'fill' }).png().toBuffer();
      }),
    );
    // The Node runtime's masks for the same model and pixels.
    const { model } = await loadLayersModel(trained.dir);
    reference = [];
    for (const png of pngs) {
      const input = imageToInput(await decodeImage(png));
      const ids = tf.tidy(() => tf.argMax(model.predict(tf.expandDims(input)) as tf.Tensor, -1));
      reference.push(Array.from(await ids.data()));
      tf.dispose([input, ids]);
    }
    model.dispose();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await server?.close();
  });

  it('gives the Node runtime\'s masks for the same still images on webgpu and wasm (≥ 99% of pixels each)', async () => {
    const browser = await launchBrowser();
    try {
      const page = await openHarness(browser, server.url);
      const images = pngs.map((b) => b.toString('base64'));
      for (const [k, backend] of ['webgpu', 'wasm'].entries()) {
        const r = await browserMasks(page, modelUrl, backend, images);
        assert.equal(r.backend, backend);
        assert.equal(r.fromCache, k > 0, 'the second load takes the verified weights from the Cache API');
        r.masks.forEach((mask, k) => {
          const agree = agreement(mask, reference[k]);
          assert.ok(agree >= 0.99, `${backend} fixture ${k} (${FIXTURES[k][1]}×${FIXTURES[k][2]}): ${(100 * agree).toFixed(2)}% of pixels agree with Node`);
          // The frame-size mask is core's nearest-neighbour resize of the model-size one.
          const [, w, h] = FIXTURES[k];
          const expected = resizeMask({ data: Uint8Array.from(mask), width: 128, height: 128 }, w, h);
          assert.deepEqual(r.frameMasks[k], { data: Array.from(expected.data), width: w, height: h });
        });
      }
    } finally {
      await browser.close();
    }
  });
  /**
   * Opens the demo on the fake camera with `backend` and returns its stats reader. Waits are for
   * what is waited for (a number of segmented frames), bounded only by a generous safety limit,
   * never by a frame count that assumes a CPU speed.
   */
  async function liveDemo(browser: Browser, backend: string) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
    await page.goto(`${server.url}/demo/?model=${encodeURIComponent(modelUrl)}&backend=${backend}`);
    const stat = async (key: string) => Number(await page.evaluate((k) => document.body.dataset[k], key));
    const framesAtLeast = (n: number) => page.waitForFunction((m) => Number(document.body.dataset.frames) >= m, n, { timeout: 600_000, polling: 200 });
    return { page, stat, framesAtLeast };
  }

  it('segments live camera frames in the demo on wasm: at most one frame waits, drops are counted, worker tensors stay flat over 60 frames', async () => {
    const clip = join(root, 'pets.y4m');
    writeSyntheticClip(clip, { frames: 30, size: 160, seed: 9, fps: 30 });
    const browser = await launchBrowser({ camera: clip });
    try {
      const { page, stat, framesAtLeast } = await liveDemo(browser, 'wasm');
      await framesAtLeast(5);
      assert.equal(await page.evaluate(() => document.body.dataset.backend), 'wasm');
      // The status tells the truth about the camera; the stage takes the frame's aspect; masks come at the frame's size.
      const shown = await page.evaluate(() => ({ status: document.getElementById('status')!.textContent, camera: document.body.dataset.camera, aspect: document.getElementById('stage')!.style.aspectRatio, output: document.body.dataset.outputSize }));
      assert.deepEqual(shown, { status: 'camera on: 160×160, segmenting on wasm', camera: 'on', aspect: '160 / 160', output: '160×160' });
      // The demo polls the worker's tf.memory() every second: the highest of three early readings,
      // each after a new poll, against one after 60 more frames (a per-frame leak adds ≥ 60).
      const early: number[] = [];
      for (let i = 0; i < 3; i++) {
        await page.waitForTimeout(1100);
        early.push(await stat('tensors'));
      }
      const from = await stat('frames');
      await framesAtLeast(from + 60);
      await page.waitForTimeout(1100);
      const late = await stat('tensors');
      const [frames, dropped, maxWaiting] = [await stat('frames'), await stat('dropped'), await stat('maxWaiting')];
      assert.ok(maxWaiting <= 1, `${maxWaiting} frames waited behind the one in flight`);
      assert.ok(Number.isInteger(dropped) && dropped >= 0, `dropped frames counted (${dropped})`);
      // One frame's intermediate tensors may be alive when memory is read; a leak grows per frame.
      assert.ok(late <= Math.max(...early) + 8, `worker tensors ${early.join(', ')} → ${late} over ${frames - from} frames`);
      await page.locator('#stage').screenshot({ path: join(ARTIFACTS, 'demo-overlay.png') });
    } finally {
      await browser.close();
    }
  });

  it('segments live camera frames in the demo on webgpu (a short run for correctness): the backend is webgpu and frames keep coming with at most one waiting', async () => {
    const clip = join(root, 'pets-webgpu.y4m');
    writeSyntheticClip(clip, { frames: 10, size: 160, seed: 9, fps: 30 });
    const browser = await launchBrowser({ camera: clip });
    try {
      const { page, stat, framesAtLeast } = await liveDemo(browser, 'webgpu');
      await framesAtLeast(1);
      assert.equal(await page.evaluate(() => document.body.dataset.backend), 'webgpu');
      await framesAtLeast(4);
      assert.ok((await stat('maxWaiting')) <= 1, 'at most one frame waits behind the one in flight');
      assert.ok(Number.isInteger(await stat('dropped')), 'dropped frames counted');
    } finally {
      await browser.close();
    }
  });

  it('falls back to webgl or wasm with WebGPU disabled and still segments', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await openHarness(browser, server.url);
      const r = await browserMasks(page, modelUrl, 'auto', [pngs[1].toString('base64')]);
      assert.ok(r.backend === 'webgl' || r.backend === 'wasm', `fell back to ${r.backend}`);
      assert.match(r.skipped.webgpu ?? '', /.+/, 'the reason WebGPU was skipped is reported');
      const agree = agreement(r.masks[0], reference[1]);
      assert.ok(agree >= 0.99, `${r.backend}: ${(100 * agree).toFixed(2)}% of pixels agree with Node`);
    } finally {
      await browser.close();
    }
  });

  it('refuses a model with a corrupted shard, naming the file, and a missing model with its URL', async () => {
    const version = modelUrl.split('/').at(-2)!;
    const bad = join(root, 'unet-small', 'corrupt');
    cpSync(join(root, 'unet-small', version), bad, { recursive: true });
    const shard = join(bad, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[11] ^= 0x08;
    writeFileSync(shard, bytes);
    const browser = await launchBrowser();
    try {
      const page = await openHarness(browser, server.url);
      const attempt = (model: string) =>
        page.evaluate(async (m) => {
          try {
            await (globalThis as Window).edgeseg.createSegmenter({ model: m });
            return null;
          } catch (e) {
            const err = e as Error & { code?: string; file?: string };
            return { name: err.name, code: err.code, file: err.file, message: err.message };
          }
        }, model);
      const corrupt = await attempt('/models/unet-small/corrupt/');
      assert.equal(corrupt?.code, 'CHECKSUM_MISMATCH', JSON.stringify(corrupt));
      assert.equal(corrupt?.file, 'group1-shard1of1.bin');
      assert.match(corrupt!.message, /group1-shard1of1\.bin/);
      const missing = await attempt('/models/unet-small/nope/');
      assert.equal(missing?.code, 'MODEL_NOT_FOUND', JSON.stringify(missing));
      assert.match(missing!.message, /\/models\/unet-small\/nope\/SHA256SUMS: HTTP 404/);
    } finally {
      await browser.close();
    }
  });
});
