/** Real Chromium for the browser tests: the built web app, the browser with its flags, a fake camera clip. */
import { writeFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import sharp from 'sharp';
import { syntheticSample, type PixelImage } from '../../core/index.js';
import { createRandom } from '../../core/random.js';

const CHROMIUM = process.env.EDGESEG_CHROMIUM ?? '/usr/bin/chromium';
const BASE_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** WebGPU on SwiftShader's Vulkan when there is no GPU. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

let built: Promise<void> | null = null;

/** Where buildWeb puts the app with the harness page (vite.config.ts, e2e mode): serve it with `startWebServer({ dist: HARNESS_DIST })`. */
export const HARNESS_DIST = 'dist/web-e2e';

/** Builds HARNESS_DIST (the demo app and the test harness page), once per test process. */
export function buildWeb(): Promise<void> {
  built ??= build({ mode: 'e2e', logLevel: 'error' }).then(() => undefined);
  return built;
}

export interface LaunchOptions {
  /** @default true */
  webgpu?: boolean;
  /** A .y4m clip served as the camera (with fake media permissions). */
  camera?: string;
}

/**
 * Launches Chromium. tsx compiles the functions passed to `page.evaluate` with esbuild's
 * keep-names helper (`__name`), which the page lacks: every page gets a no-op one.
 */
export async function launchBrowser(o: LaunchOptions = {}): Promise<Browser> {
  const args = [...BASE_FLAGS, ...(o.webgpu === false ? ['--disable-features=WebGPU'] : WEBGPU_FLAGS)];
  if (o.camera) args.push('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${o.camera}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...a) => {
    const context = await newContext(...a);
    await context.addInitScript('globalThis.__name = (f) => f;');
    return context;
  };
  return browser;
}

/** RGB → YUV 4:2:0 (BT.601 full range, as the `C420jpeg` tag says) for one frame. */
function toI420(img: PixelImage): Buffer {
  const { width: w, height: h, data, channels } = img;
  const y = Buffer.alloc(w * h);
  const u = Buffer.alloc((w / 2) * (h / 2));
  const v = Buffer.alloc((w / 2) * (h / 2));
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = (r * w + c) * channels;
      y[r * w + c] = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
    }
  }
  for (let r = 0; r < h; r += 2) {
    for (let c = 0; c < w; c += 2) {
      const i = (r * w + c) * channels;
      const [R, G, B] = [data[i], data[i + 1], data[i + 2]];
      u[(r / 2) * (w / 2) + c / 2] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * R - 0.331264 * G + 0.5 * B)));
      v[(r / 2) * (w / 2) + c / 2] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * R - 0.418688 * G - 0.081312 * B)));
    }
  }
  return Buffer.concat([y, u, v]);
}

/** Writes a Y4M clip of `frames` synthetic pets scenes (side `size`, seed `seed`) at `fps`. */
export function writeSyntheticClip(path: string, o: { frames: number; size: number; seed: number; fps: number }): void {
  const parts: Uint8Array[] = [Buffer.from(`YUV4MPEG2 W${o.size} H${o.size} F${o.fps}:1 Ip A1:1 C420jpeg\n`)];
  for (let i = 0; i < o.frames; i++) parts.push(Buffer.from('FRAME\n'), toI420(syntheticSample(i, { size: o.size, seed: o.seed }).image));
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * A new page on the harness (bench/pages/harness.html: runtime-web's public API on
 * `window.edgeseg`; `harness_ort`: the lean edgeseg/runtime-web/ort entry's), loaded and ready;
 * the page's errors and console errors go to stderr.
 */
export async function openHarness(browser: Browser, baseUrl: string, harness = 'harness'): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.stack ?? e.message));
  page.on('console', (m) => m.type() === 'error' && console.error('page console:', m.text()));
  await page.goto(`${baseUrl}/bench/pages/${harness}.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return page;
}

/**
 * Writes a Y4M clip of a still scene made from a real photo: `photo` cropped to width×height
 * (cover), then per frame the sensor noise of a camera (Gaussian, `noise` grey levels σ) and a
 * hand-held jitter of at most `jitterPx` pixels, so consecutive frames differ the way a live
 * camera's frames of a still pet do. Seeded: the same arguments give the same bytes.
 */
export async function writePhotoClip(path: string, o: { photo: Uint8Array; width: number; height: number; frames: number; fps: number; seed: number; noise?: number; jitterPx?: number }): Promise<void> {
  const noise = o.noise ?? 4;
  const jitter = o.jitterPx ?? 1;
  const pad = jitter + 1;
  const { data, info } = await sharp(o.photo).removeAlpha().resize(o.width + 2 * pad, o.height + 2 * pad, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  const rand = createRandom(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const parts: Uint8Array[] = [Buffer.from(`YUV4MPEG2 W${o.width} H${o.height} F${o.fps}:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < o.frames; f++) {
    const dx = pad + Math.round((rand() * 2 - 1) * jitter);
    const dy = pad + Math.round((rand() * 2 - 1) * jitter);
    const frame = new Uint8Array(o.width * o.height * 3);
    for (let y = 0; y < o.height; y++) {
      for (let x = 0; x < o.width; x++) {
        const src = ((y + dy) * info.width + x + dx) * 3;
        for (let c = 0; c < 3; c++) frame[(y * o.width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(data[src + c] + noise * gauss())));
      }
    }
    parts.push(Buffer.from('FRAME\n'), toI420({ data: frame, width: o.width, height: o.height, channels: 3 }));
  }
  writeFileSync(path, Buffer.concat(parts));
}
