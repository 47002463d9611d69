/** Mask overlay, platform-free: blends class colours (`classPalette`) over an RGB(A) frame. */
import { CLASS_BACKGROUND, classPalette, MAX_CLASSES, NUM_CLASSES } from './contract.js';
import { ContractError } from './errors.js';

/** How a mask is blended over its frame. */
export interface OverlayOptions {
  /** Opacity of class colours over the frame, 0–1. @default 0.5 */
  opacity?: number;
  /** Paint the background class too. @default false */
  includeBackground?: boolean;
  /**
   * The model's class count (`classCountOf(card)`): a mask value at or above it is refused.
   * @default 3, edgeseg's own U-Nets'
   */
  classes?: number;
  /**
   * The class drawn transparent unless `includeBackground` (`backgroundClassOf(card)`); null
   * draws every class, for a card that names no background. @default CLASS_BACKGROUND, edgeseg's own
   */
  background?: number | null;
  /** Colours by class id, over `classPalette(classes)`'s (a caller's own, e.g. by label). @default classPalette(classes) */
  colors?: readonly (readonly [number, number, number] | undefined)[];
}

/** Options with their defaults, checked once. */
function resolveOptions(options: OverlayOptions): { opacity: number; classes: number; skip: number } {
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new ContractError(`overlay opacity must be in [0, 1], got ${opacity}`);
  const classes = options.classes ?? NUM_CLASSES;
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new ContractError(`overlay classes must be 1–${MAX_CLASSES}, got ${classes}`);
  const background = options.background === undefined ? CLASS_BACKGROUND : options.background;
  // -1 matches no mask value: every class is painted.
  return { opacity, classes, skip: background === null || options.includeBackground ? -1 : background };
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
  const { opacity, classes, skip } = resolveOptions(options);
  if (mask.length !== width * height) throw new ContractError(`mask has ${mask.length} pixels, frame has ${width * height}`);
  if (pixels.length !== width * height * channels) throw new ContractError(`frame has ${pixels.length} bytes, expected ${width * height * channels}`);
  const palette = classPalette(classes);
  const out = new Uint8ClampedArray(pixels);
  for (let i = 0; i < mask.length; i++) {
    const c = mask[i];
    if (c === skip) continue;
    const color = palette[c];
    if (!color) throw new ContractError(`mask value ${c} at pixel ${i} is not a class id (0–${classes - 1})`);
    const o = i * channels;
    for (let k = 0; k < 3; k++) out[o + k] = pixels[o + k] * (1 - opacity) + color[k] * opacity;
  }
  return out;
}

/**
 * A class-id mask as an RGBA layer to draw over a frame (the browser's overlay canvas): class
 * colours at `opacity`, the background class transparent unless `includeBackground`.
 */
export function maskToRgba(mask: Uint8Array, options: OverlayOptions = {}): Uint8ClampedArray<ArrayBuffer> {
  const { opacity, classes, skip } = resolveOptions(options);
  const alpha = Math.round(opacity * 255);
  const palette = classPalette(classes).map((c, id) => options.colors?.[id] ?? c);
  const out = new Uint8ClampedArray(mask.length * 4);
  for (let i = 0; i < mask.length; i++) {
    const c = mask[i];
    if (c === skip) continue;
    const color = palette[c];
    if (!color) throw new ContractError(`mask value ${c} at pixel ${i} is not a class id (0–${classes - 1})`);
    out.set(color, i * 4);
    out[i * 4 + 3] = alpha;
  }
  return out;
}
