/** Draws a mask over a frame on a canvas, coloured by the model's labels (core/palette.ts). */
import { CLASS_NAMES } from '../core/contract.js';
import { ContractError } from '../core/errors.js';
import { classPalette, paletteRgba } from '../core/palette.js';

const scratch = new WeakMap<object, OffscreenCanvas>();

/**
 * Paints `mask` (width×height class ids) stretched over the whole canvas, nearest-neighbour, on
 * top of what is there (draw the frame first, or stack the canvas over a video element). The
 * class labelled `background` in `mask.labels` (a result's; edgeseg's labels without them) stays
 * transparent. `drawMask` draws the output-size masks with smooth edges and more modes.
 */
export function drawOverlay(
  ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D,
  mask: { mask: Uint8Array; width: number; height: number; labels?: readonly string[] },
  options: { opacity?: number; includeBackground?: boolean; clear?: boolean } = {},
): void {
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new ContractError(`overlay opacity must be in [0, 1], got ${opacity}`);
  let tmp = scratch.get(ctx);
  if (!tmp || tmp.width !== mask.width || tmp.height !== mask.height) {
    tmp = new OffscreenCanvas(mask.width, mask.height);
    scratch.set(ctx, tmp);
  }
  const palette = classPalette(mask.labels ?? CLASS_NAMES);
  if (options.includeBackground) palette.background = null;
  tmp.getContext('2d')!.putImageData(new ImageData(paletteRgba(mask.mask, palette, Math.round(opacity * 255)), mask.width, mask.height), 0, 0);
  if (options.clear) ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, ctx.canvas.width, ctx.canvas.height);
}
