/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { imageToInput, syntheticSample } from '../../core/index.js';
import { loadLayersModel } from '../../converter/artifact_fs.js';
import { startWebServer } from '../../scripts/web_server.js';
import { activateWasm } from '../../trainer/backends/wasm.js';
import { decodeImage } from '../../trainer/data/decode_image.js';
import { tf } from '../../trainer/tfjs.js';
import { train } from '../../trainer/train.js';
import { buildWeb, launchBrowser, writeSyntheticClip } from '../helpers/browser.js';
import { tempDir } from '../helpers/fixtures.js';
import { quiet } from '../helpers/log.js';

/** The part of runtime-web's API the tests drive (window.edgeseg on the harness page). */
interface HarnessSegmenter {
  info: { backend: string; skipped: Record<string, string>; modelVersion: string };
  segment(source: Blob): Promise<{ mask: Uint8Array; backend: string }>;
  memory(): Promise<{ numTensors: number }>;
  close(): Promise<void>;
}
type Window = typeof globalThis & { edgeseg: { createSegmenter(o: { model: string; backend?: string }): Promise<HarnessSegmenter> } };
const ARTIFACTS = 'test-results/e2e';

/** Still fixtures of several sizes and aspect ratios, as PNG (exact pixels in Node and Chromium). */
const FIXTURES: [index: number, width: number, height: number][] = [
  [0, 128, 128],
  [1, 200, 150],
  [2, 96, 160],
  [3, 333, 250],
];

async function openHarness(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
  page.on('console', (m) => m.type() === 'error' && console.error('page console:', m.text()));
  await page.goto(`${url}/test/e2e/pages/harness.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return page;
}

/** Masks of the fixtures from runtime-web in the page, on one backend. */
function browserMasks(page: Page, model: string, backend: string, images: string[]) {
  return page.evaluate(
    async ({ model, backend, images }) => {
      const { createSegmenter } = (globalThis as Window).edgeseg;
      const seg = await createSegmenter({ model, backend });
      try {
        const masks: number[][] = [];
        for (const b64 of images) {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const r = await seg.segment(new Blob([bytes], { type: 'image/png' }));
          masks.push(Array.from(r.mask));
        }
        return { backend: seg.info.backend, masks, tensors: (await seg.memory()).numTensors };
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
      train({ data: 'synthetic:count=64,size=128,seed=3', modelConfig: { baseFilters: 4, depth: 3 }, epochs: 2, batchSize: 8, learningRate: 3e-3, backend: 'wasm', out: root, reportSamples: 0 }, { log: quiet, print: () => {} }),
    ]);
    modelUrl = `/models/unet-small/${trained.version}/`;
    server = await startWebServer({ models: root });
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
      for (const backend of ['webgpu', 'wasm']) {
        const r = await browserMasks(page, modelUrl, backend, images);
        assert.equal(r.backend, backend);
        r.masks.forEach((mask, k) => {
          const agree = mask.filter((c, i) => c === reference[k][i]).length / mask.length;
          assert.ok(agree >= 0.99, `${backend} fixture ${k} (${FIXTURES[k][1]}×${FIXTURES[k][2]}): ${(100 * agree).toFixed(2)}% of pixels agree with Node`);
        });
      }
    } finally {
      await browser.close();
    }
  });
});
