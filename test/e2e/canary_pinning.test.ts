/// <reference lib="dom" />
/** A rollout in the browser: the model index assigns a browser an arm by its stable client id, the demo shows it, reloads keep it. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { armOf } from '../../core/rollout.js';
import { setAlias } from '../../core/node/registry.js';
import { startCanary } from '../../core/node/rollout.js';
import { startWebServer } from '../../scripts/web_server.js';
import { buildWeb, launchBrowser, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { seededModel } from '../../bench/helpers/models.js';

const KEY = 'edgeseg-client-id';

describe('canary rollout in the browser (Chromium, wasm backend)', () => {
  let server: Awaited<ReturnType<typeof startWebServer>>;

  before(async () => {
    const models = join(tempDir('canary-web'), 'models');
    await Promise.all([buildWeb(), ...['1', '2'].map((v) => seededModel(join(models, 'tiny', v), { name: 'tiny', version: v, seed: Number(v), config: { baseFilters: 4, depth: 2 } }))]);
    await setAlias(models, 'tiny', 'champion', '1');
    await startCanary(models, 'tiny', '2', 50);
    server = await startWebServer({ dist: HARNESS_DIST, models });
  });
  after(async () => {
    await server?.close();
  });

  it('serves each browser the version of its arm and keeps it there across reloads', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      // One browser that made its own id, and one given an id of the other arm than the first.
      const seen: string[] = [];
      for (const preset of [null, 'other-arm']) {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
        if (preset) {
          const want = seen[0] === 'canary' ? 'champion' : 'canary';
          const id = Array.from({ length: 64 }, (_, i) => `client-${i}`).find((c) => armOf(c, 50, 'tiny@2') === want)!;
          await page.addInitScript(([k, v]) => localStorage.getItem(k) ?? localStorage.setItem(k, v), [KEY, id]);
        }
        const visit = async () => {
          await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.model !== '-', null, { timeout: 60_000 });
          const id = await page.evaluate((k) => localStorage.getItem(k), KEY);
          const { arm, model } = await page.evaluate(() => ({ arm: document.body.dataset.arm, model: document.body.dataset.model }));
          return { id, arm, model };
        };
        await page.goto(`${server.url}/demo/?backend=wasm&camera=0`);
        const first = await visit();
        assert.ok(first.id, 'the page keeps a client id');
        const want = armOf(first.id!, 50, 'tiny@2');
        assert.deepEqual([first.arm, first.model], [want, want === 'canary' ? 'tiny@2' : 'tiny@1']);
        for (let i = 0; i < 2; i++) {
          await page.reload();
          assert.deepEqual(await visit(), first, `reload ${i + 1} keeps the id, the arm and the version`);
        }
        seen.push(first.arm!);
        await context.close();
      }
      assert.deepEqual([...seen].sort(), ['canary', 'champion']);
    } finally {
      await browser.close();
    }
  });
});
