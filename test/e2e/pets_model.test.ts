/// <reference lib="dom" />
/**
 * The pets model the repository ships, in Chromium: real Oxford-IIIT Pet photos (the held-out
 * test photos of data/oxford-pets-sample, as their JPEG/PNG bytes) segmented by runtime-web on
 * wasm, scored against their trimaps at the model's 128² with the foreground IoU of core/metrics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfusionMatrix } from '../../core/index.js';
import { aliases } from '../../core/node/registry.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { openDataset } from '../../datasets/dataset.js';
import { startWebServer } from '../../scripts/web_server.js';
import { buildWeb, launchBrowser, openHarness, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { quiet } from '../helpers/log.js';

const SHIPPED = join(PACKAGE_ROOT, 'data', 'models');
const SAMPLE = join(PACKAGE_ROOT, 'data', 'oxford-pets-sample');

interface PageSegmenter {
  info: { backend: string; engine?: unknown };
  segment(source: Blob): Promise<{ mask: Uint8Array }>;
  close(): Promise<void>;
}
type Window = typeof globalThis & { edgeseg: { createSegmenter(o: { model: string; backend?: string; engine?: string }): Promise<PageSegmenter> } };

describe('the shipped pets model in Chromium', () => {
  let server: Awaited<ReturnType<typeof startWebServer>>;
  const photos: { id: string; bytes: string; truth: Uint8Array }[] = [];

  before(async () => {
    const heldOut = await openDataset(`oxford:${SAMPLE}`, { splits: ['test'], log: quiet, print: () => {} });
    assert.equal(heldOut.heldOutSplit, 'test');
    for (let i = 0; i < heldOut.test.size; i++) {
      const s = await heldOut.test.get(i);
      const file = s.files.find((f) => f.path.includes('images/'))!.path;
      photos.push({ id: s.id, bytes: readFileSync(join(SAMPLE, file.slice(file.indexOf('images/')))).toString('base64'), truth: s.mask });
    }
    await buildWeb();
    server = await startWebServer({ dist: HARNESS_DIST, models: SHIPPED });
  });
  after(async () => {
    await server?.close();
  });

  it('segments the held-out test photos with foreground IoU ≥ 0.85 against their trimaps', async () => {
    const version = aliases(SHIPPED, 'pets').champion;
    assert.ok(version, 'data/models/registry.json names a pets champion');
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await openHarness(browser, server.url);
      const masks = await page.evaluate(
        async ({ model, images }) => {
          const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm' });
          try {
            const out: number[][] = [];
            for (const b64 of images) {
              const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
              out.push(Array.from((await seg.segment(new Blob([bytes]))).mask));
            }
            return out;
          } finally {
            await seg.close();
          }
        },
        { model: `/models/pets/${version}/`, images: photos.map((p) => p.bytes) },
      );
      const pooled = new ConfusionMatrix();
      const perPhoto = photos.map((p, k) => {
        pooled.accumulate(p.truth, masks[k]);
        return `${p.id} ${(100 * new ConfusionMatrix().accumulate(p.truth, masks[k]).foregroundIou()).toFixed(1)}%`;
      });
      const fgIou = pooled.foregroundIou();
      console.log(`pets@${version} in Chromium (wasm): foreground IoU ${(100 * fgIou).toFixed(2)}% over ${photos.length} held-out photos; ${perPhoto.join(', ')}`);
      assert.ok(photos.length >= 30, `${photos.length} held-out photos`);
      assert.ok(fgIou >= 0.85, `foreground IoU ${(100 * fgIou).toFixed(2)}% is below 85%`);
    } finally {
      await browser.close();
    }
  });
});
