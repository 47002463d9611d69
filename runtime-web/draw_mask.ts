/**
 * drawMask: a result's mask on a canvas, in one of three ways, in the card's classes' colours (the
 * class labelled `background` is the background, wherever it sits; a card without one has none). The mask is drawn with
 * smoothing on, so a mask at model resolution stretched over a larger canvas keeps soft edges;
 * at `outputSize: 'input'` it lands pixel for pixel.
 */
import { ConfigError } from '../core/errors.js';
import { maskToRgba } from '../core/overlay.js';
import type { SegmentationResult } from './segmenter_results.js';

/** An RGB colour, 0–255. */
export type Rgb = readonly [number, number, number];

/** How drawMask paints. */
export interface DrawMaskOptions {
  /**
   * `overlay`: class colours over what the canvas holds; `cutout`: `frame` where the subject is,
   * transparent elsewhere; `blur`: `frame` with its background blurred. @default 'overlay'
   */
  mode?: 'overlay' | 'cutout' | 'blur';
  /** Colours by label or by class id, over core's palette (`classColor`: edgeseg's three, then distinct hues). @default core's */
  colors?: Record<string, Rgb> | readonly Rgb[];
  /** Opacity of the overlay's colours, 0–1. @default 0.5 */
  opacity?: number;
  /** The frame the result is of (cutout and blur draw it). */
  frame?: CanvasImageSource;
  /** Blur radius of the background in `blur` mode, CSS px. @default 12 */
  blurPx?: number;
  /** Clear the canvas first (overlay mode). @default false */
  clear?: boolean;
}

type Ctx = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

const scratch = new WeakMap<object, OffscreenCanvas[]>();

/** Scratch canvas `i` of `ctx`, sized width×height. */
function canvasFor(ctx: Ctx, i: number, width: number, height: number): OffscreenCanvas {
  const list = scratch.get(ctx) ?? [];
  scratch.set(ctx, list);
  if (!list[i] || list[i].width !== width || list[i].height !== height) list[i] = new OffscreenCanvas(width, height);
  return list[i];
}

/** Subject alpha: 1 − p(background) from the confidence masks when there are some (soft edges), else 0/1 from the classes. */
function subjectAlpha(result: SegmentationResult, background: number | null): { rgba: Uint8ClampedArray<ArrayBuffer>; width: number; height: number } {
  const bg = background ?? -1;
  const conf = result.confidenceMasks?.[bg];
  if (conf) {
    const p = conf.toFloat32Array();
    const rgba = new Uint8ClampedArray(p.length * 4);
    for (let i = 0; i < p.length; i++) rgba[i * 4 + 3] = (1 - p[i]) * 255;
    return { rgba, width: conf.width, height: conf.height };
  }
  const m = result.categoryMask;
  const ids = m ? m.toUint8Array() : result.mask;
  const rgba = new Uint8ClampedArray(ids.length * 4);
  for (let i = 0; i < ids.length; i++) rgba[i * 4 + 3] = ids[i] === bg ? 0 : 255;
  return { rgba, width: m ? m.width : result.width, height: m ? m.height : result.height };
}

/**
 * Draws `result` on `ctx`, stretched over the whole canvas. Overlay paints over what is there
 * (draw the frame first, or stack the canvas over the video); cutout and blur draw `frame`.
 */
export function drawMask(ctx: Ctx, result: SegmentationResult, options: DrawMaskOptions = {}): void {
  const mode = options.mode ?? 'overlay';
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new ConfigError(`drawMask 'opacity' must be in [0, 1], got ${opacity}`);
  if (mode !== 'overlay' && mode !== 'cutout' && mode !== 'blur') throw new ConfigError(`drawMask 'mode' must be overlay, cutout or blur, got '${mode}'`);
  if (mode !== 'overlay' && !options.frame) throw new ConfigError(`drawMask mode '${mode}' draws the frame: pass it as 'frame'`);
  const given = options.colors;
  const colors = result.labels.map((label, id) => (Array.isArray(given) ? (given as readonly Rgb[])[id] : (given as Record<string, Rgb> | undefined)?.[label]));
  const { width: W, height: H } = ctx.canvas;
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  if (mode === 'overlay') {
    const m = result.categoryMask;
    const ids = m ? m.toUint8Array() : result.mask;
    const [w, h] = m ? [m.width, m.height] : [result.width, result.height];
    const layer = canvasFor(ctx, 0, w, h);
    const rgba = maskToRgba(ids, { opacity, classes: result.labels.length, background: result.backgroundClass, colors });
    layer.getContext('2d')!.putImageData(new ImageData(rgba, w, h), 0, 0);
    if (options.clear) ctx.clearRect(0, 0, W, H);
    ctx.drawImage(layer, 0, 0, W, H);
  } else {
    const alpha = subjectAlpha(result, result.backgroundClass);
    const matte = canvasFor(ctx, 0, alpha.width, alpha.height);
    matte.getContext('2d')!.putImageData(new ImageData(alpha.rgba, alpha.width, alpha.height), 0, 0);
    // The subject alone: the frame, kept where the matte is opaque.
    const subject = canvasFor(ctx, 1, W, H);
    const s = subject.getContext('2d')!;
    s.globalCompositeOperation = 'source-over';
    s.clearRect(0, 0, W, H);
    s.drawImage(options.frame!, 0, 0, W, H);
    s.globalCompositeOperation = 'destination-in';
    s.imageSmoothingEnabled = true;
    s.drawImage(matte, 0, 0, W, H);
    ctx.clearRect(0, 0, W, H);
    if (mode === 'blur') {
      ctx.filter = `blur(${options.blurPx ?? 12}px)`;
      ctx.drawImage(options.frame!, 0, 0, W, H);
      ctx.filter = 'none';
    }
    ctx.drawImage(subject, 0, 0);
  }
  ctx.restore();
}
