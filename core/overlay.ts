/** Mask overlay, platform-free: blends the contract's class colours over an RGB(A) frame. */
import { CLASS_BACKGROUND, CLASS_COLORS } from './contract.js';
import { ContractError } from './errors.js';

/** How a mask is blended over its frame. */
export interface OverlayOptions {
  /** Opacity of class colours over the frame, 0–1. @default 0.5 */
  opacity?: number;
  /** Paint the background class too. @default false */
  includeBackground?: boolean;
}

/**
 * Returns a new pixel array: `pixels` (width×height×channels, RGB or RGBA) with `mask`
 * (width×height class ids) blended over it. Alpha, if present, is kept.
 */
export function blendOverlay(
  pixels: Uint8Array | Uint8ClampedArray,
  mask: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  options: OverlayOptions = {},
): Uint8ClampedArray {
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new ContractError(`overlay opacity must be in [0, 1], got ${opacity}`);
  if (mask.length !== width * height) throw new ContractError(`mask has ${mask.length} pixels, frame has ${width * height}`);
  if (pixels.length !== width * height * channels) throw new ContractError(`frame has ${pixels.length} bytes, expected ${width * height * channels}`);
  const out = new Uint8ClampedArray(pixels);
  for (let i = 0; i < mask.length; i++) {
    const c = mask[i];
    if (c === CLASS_BACKGROUND && !options.includeBackground) continue;
    const color = CLASS_COLORS[c];
    if (!color) throw new ContractError(`mask value ${c} at pixel ${i} is not a class id`);
    const o = i * channels;
    for (let k = 0; k < 3; k++) out[o + k] = pixels[o + k] * (1 - opacity) + color[k] * opacity;
  }
  return out;
}

/**
 * A class-id mask as an RGBA layer to draw over a frame (the browser's overlay canvas): class
 * colours at `opacity`, background transparent unless `includeBackground`.
 */
export function maskToRgba(mask: Uint8Array, options: OverlayOptions = {}): Uint8ClampedArray<ArrayBuffer> {
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new ContractError(`overlay opacity must be in [0, 1], got ${opacity}`);
  const alpha = Math.round(opacity * 255);
  const out = new Uint8ClampedArray(mask.length * 4);
  for (let i = 0; i < mask.length; i++) {
    const c = mask[i];
    if (c === CLASS_BACKGROUND && !options.includeBackground) continue;
    const color = CLASS_COLORS[c];
    if (!color) throw new ContractError(`mask value ${c} at pixel ${i} is not a class id`);
    out.set(color, i * 4);
    out[i * 4 + 3] = alpha;
  }
  return out;
}
