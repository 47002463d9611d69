/**
 * Builds `data/oxford-pets-sample/`: a small real Oxford-IIIT Pet sample in the official layout,
 * shipped in the repository so tests and a fresh clone have real photos without a download.
 *
 *   tsx scripts/make_pets_sample.ts [--from <oxford dir>] [--out <dir>] [--trainval N] [--test N] [--max-side PX]
 *
 * Defaults: `--from ../shared/data/oxford-pets-subset --out data/oxford-pets-sample --trainval 20
 * --test 12 --max-side 256`. For each breed present in the source, the first N names (by image
 * number) of `trainval.txt` and of `test.txt` are kept, plus every image that is in no split list
 * (upstream quirks worth testing against). Images whose longest side exceeds `--max-side` are
 * downscaled to it (sharp, Lanczos) in their own real format — JPEG at quality 85, PNG keeping its
 * alpha, GIF as GIF — whatever their file extension says; smaller files are copied byte for byte.
 * Trimaps get the same size with nearest-neighbour so their values stay 1/2/3. The split lists
 * and list.txt are the source's lines for the kept names, in the source's order. Pixels keep their
 * stored orientation (no EXIF rotation), as the trimaps are drawn on it. The output's images/ and
 * annotations/ are replaced; its README.md and LICENSE are kept.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../core/node/package_root.js';

const ROOT = PACKAGE_ROOT;

interface Options {
  from: string;
  out: string;
  /** Names kept per breed from trainval.txt. @default 20 */
  trainval: number;
  /** Names kept per breed from test.txt. @default 12 */
  test: number;
  /** Longest side of a kept image, in pixels. @default 256 */
  maxSide: number;
}

function listLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
}

const nameOf = (line: string) => line.trim().split(/\s+/)[0];
/** Oxford names are `<breed>_<number>`; breeds themselves contain underscores. */
const breedOf = (name: string) => name.slice(0, name.lastIndexOf('_'));
const numberOf = (name: string) => Number(name.slice(name.lastIndexOf('_') + 1));

function pickPerBreed(names: string[], perBreed: number): string[] {
  const byBreed = new Map<string, string[]>();
  for (const n of names) byBreed.set(breedOf(n), [...(byBreed.get(breedOf(n)) ?? []), n]);
  return [...byBreed.values()].flatMap((list) => list.sort((a, b) => numberOf(a) - numberOf(b)).slice(0, perBreed));
}

/** Downscales an image in its own format (the extension may lie: upstream has a GIF and a PNG named .jpg). */
/** A byte-for-byte copy without the source's file mode (the development copy marks some files executable). */
const copyBytes = (src: string, dst: string) => writeFileSync(dst, readFileSync(src));

async function reduceImage(src: string, dst: string, maxSide: number): Promise<void> {
  const meta = await sharp(src).metadata();
  if (Math.max(meta.width ?? 0, meta.height ?? 0) <= maxSide) {
    copyBytes(src, dst);
    return;
  }
  const resized = sharp(src).resize(maxSide, maxSide, { fit: 'inside', kernel: 'lanczos3' });
  const out =
    meta.format === 'jpeg' ? resized.jpeg({ quality: 85 }) : meta.format === 'png' ? resized.png({ compressionLevel: 9 }) : meta.format === 'gif' ? resized.gif() : null;
  if (!out) throw new Error(`${src}: unexpected image format ${meta.format}`);
  writeFileSync(dst, await out.toBuffer());
}

/** Resizes a trimap to its image's size with nearest-neighbour, as an 8-bit greyscale PNG. */
async function reduceTrimap(src: string, dst: string, image: string): Promise<void> {
  const [meta, target] = await Promise.all([sharp(src).metadata(), sharp(image).metadata()]);
  if (meta.width === target.width && meta.height === target.height) {
    copyBytes(src, dst);
    return;
  }
  const { data, info } = await sharp(src).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } })
    .resize(target.width, target.height, { fit: 'fill', kernel: 'nearest' })
    // sharp writes sRGB unless told: the loader and upstream expect one grey channel.
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toBuffer();
  writeFileSync(dst, png);
}

export async function makePetsSample(o: Options): Promise<{ names: string[]; bytes: number }> {
  const ann = join(o.from, 'annotations');
  const trainvalLines = listLines(join(ann, 'trainval.txt'));
  const testLines = listLines(join(ann, 'test.txt'));
  const listed = new Set([...trainvalLines, ...testLines].map(nameOf));
  const unlisted = imageNames(join(o.from, 'images')).filter((n) => !listed.has(n));
  const keep = new Set([...pickPerBreed(trainvalLines.map(nameOf), o.trainval), ...pickPerBreed(testLines.map(nameOf), o.test), ...unlisted]);

  // README.md and LICENSE beside the data are written by hand and stay.
  rmSync(join(o.out, 'images'), { recursive: true, force: true });
  rmSync(join(o.out, 'annotations'), { recursive: true, force: true });
  mkdirSync(join(o.out, 'images'), { recursive: true });
  mkdirSync(join(o.out, 'annotations', 'trimaps'), { recursive: true });
  for (const list of ['trainval.txt', 'test.txt', 'list.txt']) {
    const lines = listLines(join(ann, list)).filter((l) => keep.has(nameOf(l)));
    writeFileSync(join(o.out, 'annotations', list), lines.map((l) => `${l}\n`).join(''));
  }
  if (existsSync(join(ann, 'README'))) copyBytes(join(ann, 'README'), join(o.out, 'annotations', 'README'));
  let bytes = 0;
  for (const name of [...keep].sort()) {
    const image = join(o.out, 'images', `${name}.jpg`);
    const trimap = join(o.out, 'annotations', 'trimaps', `${name}.png`);
    await reduceImage(join(o.from, 'images', `${name}.jpg`), image, o.maxSide);
    await reduceTrimap(join(ann, 'trimaps', `${name}.png`), trimap, image);
    bytes += readFileSync(image).byteLength + readFileSync(trimap).byteLength;
  }
  return { names: [...keep].sort(), bytes };
}

/** Every upstream image is named `<name>.jpg` whatever its real format. */
function imageNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpg') && !f.startsWith('.'))
    .map((f) => f.slice(0, -'.jpg'.length));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'oxford-pets-subset') },
      out: { type: 'string', default: join(ROOT, 'data', 'oxford-pets-sample') },
      trainval: { type: 'string', default: '20' },
      test: { type: 'string', default: '12' },
      'max-side': { type: 'string', default: '256' },
    },
  });
  const o: Options = { from: resolve(values.from), out: resolve(values.out), trainval: Number(values.trainval), test: Number(values.test), maxSide: Number(values['max-side']) };
  const { names, bytes } = await makePetsSample(o);
  console.log(`${names.length} pairs, ${(bytes / 1024).toFixed(0)} KiB of images and trimaps in ${o.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
