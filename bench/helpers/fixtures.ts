/** Builders for on-disk test fixtures (datasets in real layouts), all from the synthetic generator. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { syntheticSample } from '../../core/index.js';

const made: string[] = [];
process.on('exit', () => {
  if (!process.env.EDGESEG_KEEP_TEST_FILES) for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits (keep with EDGESEG_KEEP_TEST_FILES=1). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `edgeseg-${prefix}-`));
  made.push(dir);
  return dir;
}

export async function jpeg(index: number, size: number, seed = 1): Promise<Buffer> {
  const s = syntheticSample(index, { size, seed });
  return sharp(s.image.data, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

/** Greyscale 8-bit PNG of raw values (as PIL writes Oxford trimaps). */
export async function greyPng(values: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(values, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** A tiny dataset in the Oxford-IIIT Pet layout: `images/`, `annotations/trimaps/`, trainval.txt and test.txt. */
export async function oxfordFixture(options: { train: number; test: number; size?: number; seed?: number }): Promise<{ dir: string; names: string[] }> {
  const dir = tempDir('oxford');
  const size = options.size ?? 96;
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'annotations', 'trimaps'), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < options.train + options.test; i++) {
    const name = `Pet_${i + 1}`;
    const s = syntheticSample(i, { size, seed: options.seed ?? 1 });
    writeFileSync(join(dir, 'images', `${name}.jpg`), await jpeg(i, size, options.seed ?? 1));
    const trimap = Uint8Array.from(s.mask.data, (c) => c + 1);
    writeFileSync(join(dir, 'annotations', 'trimaps', `${name}.png`), await greyPng(trimap, size, size));
    names.push(name);
  }
  const line = (n: string) => `${n} 1 1 1\n`;
  writeFileSync(join(dir, 'annotations', 'trainval.txt'), names.slice(0, options.train).map(line).join(''));
  writeFileSync(join(dir, 'annotations', 'test.txt'), names.slice(options.train).map(line).join(''));
  return { dir, names };
}
