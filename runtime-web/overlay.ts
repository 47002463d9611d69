/** Draws a mask over a frame on a canvas, in its classes' colours (core's maskToRgba). */
import { maskToRgba } from '../core/overlay.js';

const scratch = new WeakMap<object, OffscreenCanvas>();

/**
 * Paints `mask` (width×height class ids) stretched over the whole canvas, nearest-neighbour, on
 * top of what is there (draw the frame first, or stack the canvas over a video element). A
 * result's `labels` and `backgroundClass` say how many classes there are and which stays
 * transparent (without them: edgeseg's three, class 1 the background). `drawMask` draws
 * output-size masks with smooth edges, and more modes.
 */
export function drawOverlay(
  ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D,
  mask: { mask: Uint8Array; width: number; height: number; labels?: readonly string[]; backgroundClass?: number | null },
  options: { opacity?: number; includeBackground?: boolean; clear?: boolean } = {},
): void {
  let tmp = scratch.get(ctx);
  if (!tmp || tmp.width !== mask.width || tmp.height !== mask.height) {
    tmp = new OffscreenCanvas(mask.width, mask.height);
    scratch.set(ctx, tmp);
  }
  const rgba = maskToRgba(mask.mask, { opacity: options.opacity, includeBackground: options.includeBackground, classes: mask.labels?.length, background: mask.backgroundClass });
  tmp.getContext('2d')!.putImageData(new ImageData(rgba, mask.width, mask.height), 0, 0);
  if (options.clear) ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, ctx.canvas.width, ctx.canvas.height);
}
