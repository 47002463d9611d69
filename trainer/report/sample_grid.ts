/** A PNG grid of sample predictions: one row per sample, columns image | truth | prediction. */
import sharp from 'sharp';
import { CLASS_COLORS, INPUT_SIZE } from '../../core/index.js';

export interface GridRow {
  /** 128×128×3 float32 in [0, 1]. */
  image: Float32Array;
  truth: Uint8Array;
  predicted: Uint8Array;
}

const GAP = 4;

export async function sampleGridPng(rows: GridRow[]): Promise<Uint8Array> {
  const S = INPUT_SIZE;
  const width = 3 * S + 2 * GAP;
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
    put(i, 0, (p, c) => Math.round(r.image[p * 3 + c] * 255));
    put(i, 1, (p, c) => CLASS_COLORS[r.truth[p]][c]);
    put(i, 2, (p, c) => CLASS_COLORS[r.predicted[p]][c]);
  });
  return new Uint8Array(await sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer());
}
