/**
 * A PNG grid of predictions on held-out photos: one row per sample, columns image | truth |
 * prediction | prediction over the image (pet and border tinted at half strength, so a reader
 * judges the mask against the photo itself), and each row's foreground IoU for the report's legend.
 */
import sharp from 'sharp';
import { CLASS_BACKGROUND, CLASS_COLORS, ConfusionMatrix, INPUT_SIZE } from '../../core/index.js';

export interface GridRow {
  /** 128×128×3 float32 in [0, 1]. */
  image: Float32Array;
  truth: Uint8Array;
  predicted: Uint8Array;
}

/** Columns of each row, left to right. */
export const GRID_COLUMNS = ['image', 'truth', 'prediction', 'prediction over image'] as const;

const GAP = 4;
/** Weight of the class colour where the overlay column tints pet and border. */
const TINT = 0.5;

/** Foreground IoU of one sample (pet vs the rest, border truth ignored), as the card measures it. */
export function rowForegroundIou(row: GridRow): number {
  return new ConfusionMatrix().accumulate(row.truth, row.predicted).foregroundIou();
}

export async function sampleGridPng(rows: GridRow[]): Promise<Uint8Array> {
  const S = INPUT_SIZE;
  const cols = GRID_COLUMNS.length;
  const width = cols * S + (cols - 1) * GAP;
  const height = rows.length * S + Math.max(0, rows.length - 1) * GAP;
  const out = new Uint8Array(width * height * 3).fill(255);
  const put = (row: number, col: number, pixel: (i: number, c: number) => number) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = ((row * (S + GAP) + y) * width + col * (S + GAP) + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = pixel(y * S + x, c);
      }
    }
  };
  rows.forEach((r, i) => {
    const photo = (p: number, c: number) => Math.round(r.image[p * 3 + c] * 255);
    put(i, 0, photo);
    put(i, 1, (p, c) => CLASS_COLORS[r.truth[p]][c]);
    put(i, 2, (p, c) => CLASS_COLORS[r.predicted[p]][c]);
    put(i, 3, (p, c) => (r.predicted[p] === CLASS_BACKGROUND ? photo(p, c) : Math.round((1 - TINT) * photo(p, c) + TINT * CLASS_COLORS[r.predicted[p]][c])));
  });
  return new Uint8Array(await sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer());
}
