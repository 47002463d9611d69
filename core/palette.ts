/**
 * Colours of a model's classes by its card's labels, platform-free: edgeseg's own labels keep the
 * contract's colours; any other model (an imported 21-class DeepLab) gets the PASCAL VOC colour
 * map its users know. A class labelled `background` (any case) is the one overlays leave
 * transparent, wherever it sits in the list; a model without one paints every class.
 */
import { CLASS_COLORS, CLASS_NAMES } from './contract.js';

/** An RGB colour, 0–255. */
export type Rgb = readonly [number, number, number];

/** Colours and the background class of a label list. */
export interface ClassPalette {
  labels: readonly string[];
  colors: Rgb[];
  /** Index of the class labelled `background`, or null. */
  background: number | null;
}

/** The PASCAL VOC colour of class `i` (bit-interleaved from its index). */
export function vocColor(i: number): Rgb {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let bit = 7, c = i; bit >= 0 && c > 0; bit--, c >>= 3) {
    r |= (c & 1) << bit;
    g |= ((c >> 1) & 1) << bit;
    b |= ((c >> 2) & 1) << bit;
  }
  return [r, g, b];
}

/** The palette of `labels` (a card's `contract.classes`); `colors` overrides by label or index. */
export function classPalette(labels: readonly string[], colors: Record<string, Rgb> | readonly Rgb[] = {}): ClassPalette {
  const own = labels.length === CLASS_NAMES.length && labels.every((l, i) => l === CLASS_NAMES[i]);
  const picked = labels.map((label, i): Rgb => {
    const given = Array.isArray(colors) ? (colors as readonly Rgb[])[i] : (colors as Record<string, Rgb>)[label];
    return given ?? (own ? CLASS_COLORS[i] : vocColor(i));
  });
  const bg = labels.findIndex((l) => l.toLowerCase() === 'background');
  return { labels, colors: picked, background: bg >= 0 ? bg : null };
}

/** A class-id mask as RGBA: each class in its colour at `alpha` (0–255), the background transparent. */
export function paletteRgba(mask: Uint8Array, palette: ClassPalette, alpha = 255): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(mask.length * 4);
  for (let i = 0; i < mask.length; i++) {
    const c = mask[i];
    if (c === palette.background) continue;
    const color = palette.colors[c] ?? [255, 255, 255];
    const o = i * 4;
    out[o] = color[0];
    out[o + 1] = color[1];
    out[o + 2] = color[2];
    out[o + 3] = alpha;
  }
  return out;
}
