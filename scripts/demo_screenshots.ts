/**
 * Screenshots of the demo in headless Chromium, as a user sees it: a cat photo (a portrait
 * Abyssinian from the shipped pet sample) and the camera (a 640×480 clip of a still Bengal from the
 * same sample, with sensor noise and hand-held jitter, served as Chromium's fake camera), on the
 * shipped pets model. Writes `<out>/<label>-photo.png`, `<out>/<label>-camera.png` (and, where
 * the demo has drawing modes, `<out>/<label>-camera-blur.png`) and prints the status line and
 * stats each page showed.
 *
 *   tsx scripts/demo_screenshots.ts --label after [--out docs/screenshots]
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { launchBrowser, writePhotoClip } from '../bench/helpers/browser.js';
import { tempDir } from '../bench/helpers/fixtures.js';
import { PACKAGE_ROOT } from '../core/node/package_root.js';
import { serveDemo } from './demo.js';

const SAMPLE = join(PACKAGE_ROOT, 'data', 'oxford-pets-sample', 'images');
/** Longest wait for the demo's first masks, ms (a safety bound, not a speed assumption). */
const WAIT_MS = 300_000;

const { values } = parseArgs({ options: { label: { type: 'string', default: 'after' }, out: { type: 'string', default: 'docs/screenshots' }, frames: { type: 'string', default: '20' } } });
const out = values.out!;
mkdirSync(out, { recursive: true });
const clip = join(tempDir('screens'), 'bengal-640x480.y4m');
await writePhotoClip(clip, { photo: readFileSync(join(SAMPLE, 'Bengal_10.jpg')), width: 640, height: 480, frames: 30, fps: 15, seed: 1 });
const demo = await serveDemo({ models: join(PACKAGE_ROOT, 'data', 'models') });
const browser = await launchBrowser({ camera: clip, webgpu: false });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  // Palette PNGs (about a third of the size, no visible change), for the repository.
  const shoot = async (name: string) => sharp(await page.screenshot()).png({ palette: true, quality: 90, compressionLevel: 9 }).toFile(join(out, `${name}.png`));
  const describe = async (name: string) => {
    const text = await page.evaluate(() => ({ status: document.getElementById('status')?.textContent, stats: document.getElementById('stats')?.innerText.replace(/\n/g, ' ') }));
    console.log(`${name}: status "${text.status}"; stats ${text.stats}`);
  };

  await page.goto(`${demo.url}?camera=0&backend=wasm`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: WAIT_MS });
  await page.setInputFiles('#file', join(SAMPLE, 'Abyssinian_10.jpg'));
  // A photo is no stream: its mask has come when the time to the first mask is shown.
  await page.waitForFunction(() => /^\d+$/.test(document.body.dataset.firstMaskMs ?? ''), undefined, { timeout: WAIT_MS, polling: 200 });
  await page.waitForTimeout(500);
  await shoot(`${values.label}-photo`);
  await describe(`${values.label}-photo`);

  await page.goto(`${demo.url}?backend=wasm`);
  await page.waitForFunction((n) => Number(document.body.dataset.frames ?? 0) >= n, Number(values.frames), { timeout: WAIT_MS, polling: 200 });
  await shoot(`${values.label}-camera`);
  await describe(`${values.label}-camera`);

  // The demo's drawing modes, where it has them: the camera with its background blurred.
  if (await page.$('#mode')) {
    await page.goto(`${demo.url}?backend=wasm&mode=blur`);
    await page.waitForFunction((n) => Number(document.body.dataset.frames ?? 0) >= n, Number(values.frames), { timeout: WAIT_MS, polling: 200 });
    await shoot(`${values.label}-camera-blur`);
    await describe(`${values.label}-camera-blur`);
  }
} finally {
  await browser.close();
  await demo.close();
}
