/// <reference lib="dom" />
/**
 * Real photos through runtime-web in the harness page (bench/pages/harness.html): each photo is
 * decoded once into a canvas at its own size (a frame as an app holds it), segmented once for its
 * mask, then the canvases are segmented in turn for timing.
 */
import type { Page } from 'playwright-core';

/** What one segmenter did with the photos in the page. */
export interface PhotoFrames {
  /** Backend × engine that served (runtime-web's own report). */
  chosen: string;
  provider: string | null;
  /** One class-id mask (model resolution, row-major) per photo, in order. */
  masks: number[][];
  /** Per timed frame: the whole segment() call, and model execution plus readback, ms. */
  totalMs: number[];
  modelMs: number[];
  seconds: number;
}

/**
 * Segments `photos` (encoded image bytes, base64) with a fresh segmenter on `url` (a model
 * version folder the page's server serves), `backend` × `engine`, no cached weights; then
 * `frames` timed frames cycling over the photos.
 */
export function segmentPhotos(page: Page, o: { url: string; backend: string; engine: string; photos: string[]; frames: number }): Promise<PhotoFrames> {
  return page.evaluate(async ({ url, backend, engine, photos, frames }) => {
    type Result = { mask: Uint8Array; timings: { total: number; inference: number; readback: number } };
    type Seg = { info: { engine: { chosen: string; provider: string | null } }; segment(s: HTMLCanvasElement): Promise<Result>; close(): Promise<void> };
    const api = (globalThis as unknown as { edgeseg: { createSegmenter(o: object): Promise<Seg> } }).edgeseg;
    const canvases = await Promise.all(
      photos.map(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes]), { colorSpaceConversion: 'none' });
        const canvas = document.createElement('canvas');
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
        bitmap.close();
        return canvas;
      }),
    );
    const seg = await api.createSegmenter({ model: url, backend, engine, cache: false });
    const masks: number[][] = [];
    for (const c of canvases) masks.push(Array.from((await seg.segment(c)).mask));
    const totalMs: number[] = [];
    const modelMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      const r = await seg.segment(canvases[i % canvases.length]);
      totalMs.push(r.timings.total);
      modelMs.push(r.timings.inference + r.timings.readback);
    }
    const seconds = (performance.now() - t0) / 1000;
    const { chosen, provider } = seg.info.engine;
    await seg.close();
    return { chosen, provider, masks, totalMs, modelMs, seconds };
  }, o);
}
