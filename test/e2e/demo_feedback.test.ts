/// <reference lib="dom" />
/** The demo's "correct this frame" panel in Chromium: a painted correction lands in the feedback store. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CLASS_PET, decodeMaskPng, syntheticSample } from '../../core/index.js';
import { startWebServer } from '../../scripts/web_server.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { train } from '../../trainer/train.js';
import { buildWeb, launchBrowser, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { quiet } from '../helpers/log.js';

describe('demo feedback panel (Chromium, wasm backend)', () => {
  let root: string;
  let store: string;
  let server: Awaited<ReturnType<typeof startWebServer>>;
  let modelUrl: string;

  before(async () => {
    root = tempDir('demo-feedback');
    store = join(root, 'feedback');
    const [, trained] = await Promise.all([
      buildWeb(),
      train({ data: 'synthetic:count=32,size=128,seed=4', modelConfig: { baseFilters: 4, depth: 2 }, epochs: 1, batchSize: 8, backend: 'wasm', models: join(root, 'models'), reportSamples: 0 }, { log: quiet, print: () => {} }),
    ]);
    modelUrl = `/models/unet-small/${trained.version}/`;
    server = await startWebServer({ dist: HARNESS_DIST, models: join(root, 'models'), feedback: { store, token: 'demo-token' } });
  });
  after(async () => {
    await server?.close();
  });

  it('paints a correction on a frozen still frame, sends it with the token, and the store gets the frame and the painted mask; a wrong token is refused', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
      await page.goto(`${server.url}/demo/?model=${encodeURIComponent(modelUrl)}&backend=wasm`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
      const s = syntheticSample(5, { size: 128, seed: 11 });
      const png = await sharp(s.image.data, { raw: { width: 128, height: 128, channels: 3 } }).png().toBuffer();
      await page.setInputFiles('#file', { name: 'pet.png', mimeType: 'image/png', buffer: png });
      // A segmented still shows on the stage and enters the latency stats.
      await page.waitForFunction(() => !document.getElementById('still')!.hidden && Number(document.body.dataset.p50) > 0, null, { timeout: 60_000 });

      await page.click('#feedback summary');
      assert.equal(await page.inputValue('#feedback-url'), `${server.url}/feedback`, 'the panel posts to the demo server by default');
      await page.click('#freeze');
      await page.waitForFunction(() => /frozen/.test(document.getElementById('feedback-status')!.textContent ?? ''), null, { timeout: 60_000 });

      // Paint a pet-class stroke across the middle of the frame with a 16-px brush.
      await page.check('input[name=brush][value="0"]');
      await page.fill('#brush-size', '16');
      const box = (await page.locator('#paint').boundingBox())!;
      const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const;
      await page.mouse.move(...at(0.2, 0.5));
      await page.mouse.down();
      for (let k = 1; k <= 12; k++) await page.mouse.move(...at(0.2 + (0.6 * k) / 12, 0.5));
      await page.mouse.up();

      await page.fill('#feedback-token', 'wrong');
      await page.click('#send');
      await page.waitForFunction(() => /refused|failed/.test(document.getElementById('feedback-status')!.textContent ?? ''), null, { timeout: 30_000 });
      assert.match((await page.textContent('#feedback-status')) ?? '', /HTTP 401/);
      assert.equal(new FeedbackStore(store).latest(), null, 'a refused correction stores nothing');

      await page.fill('#feedback-token', 'demo-token');
      await page.click('#send');
      await page.waitForFunction(() => /sent/.test(document.getElementById('feedback-status')!.textContent ?? ''), null, { timeout: 30_000 });
      const sentId = ((await page.textContent('#feedback-status')) ?? '').replace(/^sent /, '');

      const fb = new FeedbackStore(store);
      const v = fb.read();
      assert.equal(v.version, 1);
      assert.equal(v.samples.length, 1);
      const sample = v.samples[0];
      assert.equal(sample.id, sentId);
      assert.equal(sample.source, 'demo:corrected');
      assert.equal(sample.labeler, 'browser');
      const mask = decodeMaskPng(readFileSync(fb.objectPath(sample.mask)));
      assert.deepEqual([mask.width, mask.height], [128, 128]);
      // The stroke's centre line (y = 64, x from ~26 to ~102) is all pet now.
      for (let x = 30; x <= 98; x += 4) assert.equal(mask.data[64 * 128 + x], CLASS_PET, `painted pixel (${x}, 64)`);
      const image = await sharp(readFileSync(fb.objectPath(sample.image))).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([image.info.width, image.info.height], [128, 128]);
      // The stored frame is the still that was frozen (same pixels up to canvas round-trip).
      let diff = 0;
      for (let i = 0; i < 128 * 128; i++) diff += Math.abs(image.data[i * image.info.channels] - s.image.data[i * 3]);
      assert.ok(diff / (128 * 128) < 2, `stored frame differs from the still by ${(diff / (128 * 128)).toFixed(2)} per pixel`);
    } finally {
      await browser.close();
    }
  });
});
