/** Draws a mask over a frame on a canvas, in the contract's colours (core/overlay.ts). */
import { maskToRgba, type OverlayOptions } from '../core/index.js';

const scratch = new WeakMap<object, OffscreenCanvas>();

/**
 * Paints `mask` (width×height class ids) stretched over the whole canvas, nearest-neighbour, on
 * top of what is there (draw the frame first, or stack the canvas over a video element).
 */
export function drawOverlay(
  ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D,
  mask: { mask: Uint8Array; width: number; height: number },
  options: OverlayOptions & { clear?: boolean } = {},
): void {
  let tmp = scratch.get(ctx);
  if (!tmp || tmp.width !== mask.width || tmp.height !== mask.height) {
    tmp = new OffscreenCanvas(mask.width, mask.height);
    scratch.set(ctx, tmp);
  }
  tmp.getContext('2d')!.putImageData(new ImageData(maskToRgba(mask.mask, options), mask.width, mask.height), 0, 0);
  if (options.clear) ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, ctx.canvas.width, ctx.canvas.height);
}
