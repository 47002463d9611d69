/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { convert } from '../../converter/convert.js';
import { startWebServer } from '../../scripts/web_server.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { buildWeb, launchBrowser, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { randomizeBatchNorm, untrainedCard } from '../../bench/helpers/models.js';
import { quiet } from '../helpers/log.js';

interface Row {
  candidate: string;
  backend: string;
  status: string;
  medianMs: number | null;
  runs: number;
  reason?: string;
}
interface Choice {
  chosen: string;
  reason: string;
  table: Row[];
  fromCache: boolean;
  calibrating: boolean;
}
interface Info {
  backend: string;
  choice: Choice;
  adapters: { webgpu: string | null; webgl: string | null };
  skipped: Record<string, string>;
}
interface Seg {
  info: Info;
  whenCalibrated(): Promise<Info>;
  segment(source: unknown): Promise<{ mask: Uint8Array; candidate: string }>;
  close(): Promise<void>;
}
type Window = typeof globalThis & { edgeseg: { createSegmenter(o: object): Promise<Seg> } };

const CONFIG = { baseFilters: 8, depth: 3 };
const MODEL = '/models/unet-small/1-fp32/';

async function openHarness(page: Page, url: string): Promise<void> {
  page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
  await page.goto(`${url}/bench/pages/harness.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

/** createSegmenter with backend and engine `auto`: the info at load and once calibrated, and the first mask's candidate. */
function autoLoad(page: Page) {
  return page.evaluate(async (model) => {
    const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'auto', engine: 'auto' });
    try {
      const atLoad = structuredClone(seg.info);
      const canvas = new OffscreenCanvas(96, 96);
      canvas.getContext('2d')!.fillRect(10, 10, 40, 40);
      const first = await seg.segment(canvas);
      const final = await seg.whenCalibrated();
      const after = await seg.segment(canvas);
      return { atLoad, final, firstCandidate: first.candidate, afterCandidate: after.candidate };
    } finally {
      await seg.close();
    }
  }, MODEL);
}

describe('runtime-web backend auto: chosen by measurement, never a software GPU', () => {
  let server: Awaited<ReturnType<typeof startWebServer>>;

  before(async () => {
    await activateWasm();
    const root = tempDir('web-auto');
    const { model: layers } = buildModel('unet-small', CONFIG);
    seedWeights(layers, 5);
    randomizeBatchNorm(layers);
    const parent = join(root, 'unet-small', '1');
    await saveLayersModel(layers, parent, untrainedCard('unet-small', '1', 'unet-small', CONFIG));
    layers.dispose();
    await Promise.all([buildWeb(), convert({ model: parent, precision: 'fp32', format: 'both', models: root, backend: 'wasm', log: quiet, onProgress: () => {} })]);
    server = await startWebServer({ dist: HARNESS_DIST, models: root });
  });
  after(async () => {
    await server?.close();
  });

  it('passes over SwiftShader with the reason, picks the faster wasm path by measurement, and reuses the cached choice on reload', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await openHarness(page, server.url);
      const cold = await autoLoad(page);
      const rows = (c: Choice) => Object.fromEntries(c.table.map((r) => [r.candidate, r]));
      const table = rows(cold.final.choice);
      assert.match(cold.final.adapters.webgpu ?? '', /swiftshader/i, 'this browser offers WebGPU on SwiftShader only');
      for (const c of ['tfjs-webgpu', 'ort-webgpu']) {
        assert.equal(table[c]?.status, 'passed-over', JSON.stringify(cold.final.choice.table));
        assert.match(table[c].reason!, /(software|fallback) adapter/);
      }
      assert.match(cold.final.skipped.webgpu, /(software|fallback) adapter/);
      // The first frame is served by the first candidate to load, while the calibration runs.
      assert.equal(cold.atLoad.choice.calibrating, true);
      assert.equal(cold.firstCandidate, cold.atLoad.choice.chosen);
      // Both wasm paths were timed; the faster serves from then on, and the info says why.
      const measured = cold.final.choice.table.filter((r) => r.medianMs !== null);
      assert.deepEqual(measured.map((r) => r.candidate).sort(), ['ort-wasm', 'tfjs-wasm']);
      const fastest = measured.reduce((a, b) => (b.medianMs! < a.medianMs! ? b : a));
      assert.deepEqual([cold.final.choice.chosen, cold.afterCandidate, cold.final.choice.calibrating, cold.final.choice.fromCache], [fastest.candidate, fastest.candidate, false, false]);
      assert.match(cold.final.choice.reason, /^fastest of 2 measured: .*; passed over .*tfjs-webgpu \(google swiftshader is a (software|fallback) adapter/);
      assert.equal(cold.final.backend, 'wasm');

      await page.reload();
      await openHarness(page, server.url);
      const warm = await autoLoad(page);
      assert.deepEqual([warm.atLoad.choice.fromCache, warm.atLoad.choice.calibrating, warm.atLoad.choice.chosen], [true, false, fastest.candidate], 'no second calibration');
      assert.deepEqual(warm.final.choice.table, cold.final.choice.table, 'the measured table comes from the cache');
      assert.match(warm.final.choice.reason, /^cached: fastest of 2 measured/);
      assert.equal(warm.firstCandidate, fastest.candidate);
    } finally {
      await browser.close();
    }
  });

  it('takes VideoFrames (WebCodecs): the same mask as the ImageBitmap of the same pixels; the frame stays the caller\'s unless transfer: true, then it is closed after the transfer', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await browser.newPage();
      await openHarness(page, server.url);
      const r = await page.evaluate(async (model) => {
        const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false, transfer: true });
        const copying = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'tfjs', cache: false });
        try {
          const canvas = new OffscreenCanvas(160, 120);
          const ctx = canvas.getContext('2d')!;
          ctx.fillStyle = '#3a6';
          ctx.fillRect(0, 0, 160, 120);
          ctx.fillStyle = '#e0c090';
          ctx.fillRect(40, 30, 70, 60);
          const frame = new VideoFrame(canvas, { timestamp: 0, alpha: 'discard' });
          const copied = await copying.segment(frame);
          const open = frame.codedWidth === 160;
          const fromFrame = await seg.segment(frame);
          const closed = frame.format === null && frame.codedWidth === 0;
          const fromBitmap = await seg.segment(await createImageBitmap(canvas, { colorSpaceConversion: 'none' }));
          return { same: Array.from(fromFrame.mask).every((c, i) => c === fromBitmap.mask[i] && c === copied.mask[i]), open, closed, size: fromFrame.mask.length };
        } finally {
          await seg.close();
          await copying.close();
        }
      }, MODEL);
      assert.deepEqual(r, { same: true, open: true, closed: true, size: 128 * 128 });
    } finally {
      await browser.close();
    }
  });
});
