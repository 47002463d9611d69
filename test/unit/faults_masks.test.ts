/**
 * PNG masks: every valid colour type and bit depth decodes to the same labels (a 2-bit palette
 * trimap as image editors and datasets write it, 1/4/16-bit grey, grey+alpha, RGB(A), interlaced
 * 8-bit), and bad ones are refused with MASK_INVALID before their image data is inflated past
 * what the header declares: deflate bombs, huge declared sizes, invalid depth/colour-type pairs,
 * truncated or corrupt chunks, values outside the classes.
 */
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeMaskPng, encodeMaskPng, MaskCodecError } from '../../core/index.js';
import { decodePngChannel } from '../../core/mask_codec.js';
import { trimapToClassIds } from '../../core/preprocess.js';
import { FaultTally } from '../helpers/fault_tally.js';

const tally = new FaultTally('masks');
after(() => tally.report());

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

interface RawPng {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace?: number;
  /** Deflated image data; by default built from `values` (one sample per pixel, channel-replicated). */
  idat?: Uint8Array;
  /** PLTE entries: a count (grey levels 0, 1, 2, …: index = value) or the grey level of each index. */
  palette?: number | number[];
  extra?: Buffer[];
}

/** Packs one value per pixel into filter-0 scanlines at `depth`, replicating it into every channel. */
function scanlines(values: number[], width: number, height: number, depth: number, channels: number): Buffer {
  const stride = Math.ceil((width * channels * depth) / 8);
  const out = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = c === 3 || (channels === 2 && c === 1) ? (1 << depth) - 1 : values[y * width + x];
        const bit = (x * channels + c) * depth;
        const at = y * (stride + 1) + 1 + (bit >> 3);
        if (depth === 16) out.writeUInt16BE(v, at);
        else out[at] |= v << (8 - depth - (bit & 7));
      }
    }
  }
  return out;
}

function png(p: RawPng, values: number[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(p.width >>> 0, 0);
  ihdr.writeUInt32BE(p.height >>> 0, 4);
  ihdr.set([p.depth, p.colorType, 0, 0, p.interlace ?? 0], 8);
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[p.colorType] ?? 1;
  const idat = p.idat ?? deflateSync(scanlines(values, p.width, p.height, p.depth, channels));
  const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
  if (p.palette) {
    const greys = typeof p.palette === 'number' ? Array.from({ length: p.palette }, (_, i) => i) : p.palette;
    parts.push(chunk('PLTE', Buffer.from(greys.flatMap((g) => [g, g, g]))));
  }
  parts.push(...(p.extra ?? []), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

const W = 13;
const H = 7;
const labels = Array.from({ length: W * H }, (_, i) => (i * 7 + (i >> 3)) % 3);

describe('faults: PNG masks', () => {
  it('decodes every colour type and bit depth to the same labels', async () => {
    const valid: [string, Buffer][] = [
      ['2-bit palette trimap', png({ width: W, height: H, depth: 2, colorType: 3, palette: 4 }, labels)],
      ['1-bit palette (two classes)', png({ width: W, height: H, depth: 1, colorType: 3, palette: 2 }, labels.map((v) => v & 1))],
      ['4-bit palette', png({ width: W, height: H, depth: 4, colorType: 3, palette: 16 }, labels)],
      ['8-bit palette', png({ width: W, height: H, depth: 8, colorType: 3, palette: 3 }, labels)],
      ['2-bit grey', png({ width: W, height: H, depth: 2, colorType: 0 }, labels)],
      ['4-bit grey', png({ width: W, height: H, depth: 4, colorType: 0 }, labels)],
      ['16-bit grey', png({ width: W, height: H, depth: 16, colorType: 0 }, labels)],
      ['8-bit grey+alpha', png({ width: W, height: H, depth: 8, colorType: 4 }, labels)],
      ['16-bit RGB', png({ width: W, height: H, depth: 16, colorType: 2 }, labels)],
      ['8-bit RGBA', png({ width: W, height: H, depth: 8, colorType: 6 }, labels)],
      ['8-bit grey, Adam7 interlaced (libvips)', await sharp(Buffer.from(labels), { raw: { width: W, height: H, channels: 1 } }).png({ progressive: true }).toBuffer()],
      ['8-bit palette from libvips', await sharp(Buffer.from(labels.flatMap((v) => [v, v, v])), { raw: { width: W, height: H, channels: 3 } }).png({ palette: true, colours: 4, dither: 0 }).toBuffer()],
    ];
    for (const [name, bytes] of valid) {
      const got = decodePngChannel(bytes);
      assert.equal(got.width, W, name);
      assert.equal(got.height, H, name);
      if (name.startsWith('1-bit')) assert.deepEqual(Array.from(got.data), labels.map((v) => v & 1), name);
      else assert.deepEqual(Array.from(decodeMaskPng(bytes).data), labels, name);
    }
    // An Oxford-style 2-bit palette trimap {1, 2, 3} reads as class ids through the trimap mapping.
    const trimap = png({ width: W, height: H, depth: 2, colorType: 3, palette: 4 }, labels.map((v) => v + 1));
    assert.deepEqual(Array.from(trimapToClassIds(decodePngChannel(trimap).data)), labels);
  });

  it('reads palette masks by colour value, not by index', async () => {
    // What an image library writes when asked for a small palette: indices 0, 1, 2 hold grey levels 1, 2, 3.
    const trimap = png({ width: W, height: H, depth: 2, colorType: 3, palette: [1, 2, 3] }, labels);
    assert.deepEqual(Array.from(decodePngChannel(trimap).data), labels.map((v) => v + 1));
    assert.deepEqual(Array.from(trimapToClassIds(decodePngChannel(trimap).data)), labels);
    // Class ids in a shuffled palette: index k holds class (k + 2) % 3, in 8-bit and 4-bit.
    for (const depth of [4, 8]) {
      const shuffled = png({ width: W, height: H, depth, colorType: 3, palette: [2, 0, 1] }, labels.map((v) => (v + 1) % 3));
      assert.deepEqual(Array.from(decodeMaskPng(shuffled).data), labels, `${depth}-bit shuffled palette`);
    }
    // libvips with a 3-colour palette picks its own index order; the values come through.
    const vips = await sharp(Buffer.from(labels.flatMap((v) => [v + 1, v + 1, v + 1])), { raw: { width: W, height: H, channels: 3 } }).png({ palette: true, colours: 3, dither: 0 }).toBuffer();
    assert.deepEqual(Array.from(trimapToClassIds(decodePngChannel(vips).data)), labels);
    // Grey+alpha reads the grey level whatever the alpha.
    assert.deepEqual(Array.from(decodeMaskPng(png({ width: W, height: H, depth: 8, colorType: 4 }, labels)).data), labels);
    assert.deepEqual(decodeMaskPng(encodeMaskPng({ data: Uint8Array.from(labels), width: W, height: H })), { data: Uint8Array.from(labels), width: W, height: H });
  });

  it('refuses bad PNGs with MASK_INVALID, bombs before they inflate past their header', async () => {
    const good = png({ width: W, height: H, depth: 8, colorType: 0 }, labels);
    const flip = (b: Buffer, at: number) => {
      const c = Buffer.from(b);
      c[at] ^= 0x10;
      return c;
    };
    // 64 MiB of zeros deflates to ~64 KiB; the header says 64×64.
    const bomb = deflateSync(Buffer.alloc(64 << 20));
    const hugeLen = Buffer.from(good);
    hugeLen.writeUInt32BE(0xfffffff0, 33);
    const bad: [string, () => Uint8Array, RegExp?][] = [
      ['deflate bomb in a 64×64 grey mask', () => png({ width: 64, height: 64, depth: 8, colorType: 0, idat: bomb }), /inflates past/],
      ['deflate bomb split over many IDAT chunks', () => png({ width: 64, height: 64, depth: 8, colorType: 3, palette: 3, idat: new Uint8Array(0), extra: Array.from({ length: 8 }, (_, i) => chunk('IDAT', bomb.subarray(i * (bomb.length >> 3), (i + 1) * (bomb.length >> 3)))) }), /inflates past/],
      ['declares 16384×16384 16-bit RGBA', () => png({ width: 16384, height: 16384, depth: 16, colorType: 6, idat: deflateSync(Buffer.alloc(10)) }), /limit/],
      ['declares 100000×1', () => png({ width: 100000, height: 1, depth: 8, colorType: 0, idat: deflateSync(Buffer.alloc(10)) }), /pixels per side/],
      ['declares width 0', () => png({ width: 0, height: 4, depth: 8, colorType: 0, idat: deflateSync(Buffer.alloc(4)) })],
      ['declares width 2^31', () => png({ width: 2 ** 31, height: 1, depth: 8, colorType: 0, idat: deflateSync(Buffer.alloc(4)) })],
      ['grey at bit depth 3', () => png({ width: W, height: H, depth: 3, colorType: 0, idat: deflateSync(Buffer.alloc(40)) }), /bit depth 3/],
      ['RGB at bit depth 4', () => png({ width: W, height: H, depth: 4, colorType: 2, idat: deflateSync(Buffer.alloc(40)) }), /bit depth 4/],
      ['palette at bit depth 16', () => png({ width: W, height: H, depth: 16, colorType: 3, palette: 3, idat: deflateSync(Buffer.alloc(40)) })],
      ['colour type 5', () => png({ width: W, height: H, depth: 8, colorType: 5, idat: deflateSync(Buffer.alloc(40)) }), /colour type 5/],
      ['interlace method 2', () => png({ width: W, height: H, depth: 8, colorType: 0, interlace: 2 }, labels)],
      ['image data that inflates short', () => png({ width: W, height: H, depth: 8, colorType: 0, idat: deflateSync(Buffer.alloc(10)) }), /declares/],
      ['image data that is not deflate', () => png({ width: W, height: H, depth: 8, colorType: 0, idat: Buffer.from('not deflate at all, not at all') })],
      ['no image data', () => png({ width: W, height: H, depth: 8, colorType: 0, idat: new Uint8Array(0) })],
      ['a flipped bit in IHDR (CRC)', () => flip(good, 20)],
      ['a flipped bit in IDAT (CRC)', () => flip(good, good.length - 20)],
      ['chunk length past the end', () => hugeLen, /truncated/],
      ['truncated before IEND', () => good.subarray(0, good.length - 12), /truncated|IEND/],
      ['IDAT before IHDR', () => Buffer.concat([good.subarray(0, 8), chunk('IDAT', deflateSync(Buffer.alloc(8))), good.subarray(8)])],
      ['JPEG bytes', () => Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.alloc(60)])],
      ['empty', () => new Uint8Array(0)],
      ['palette index 3 (no such class)', () => png({ width: W, height: H, depth: 2, colorType: 3, palette: 4 }, labels.map((v) => (v === 2 ? 3 : v))), /not a class id/],
      ['palette colour 200 (no such class)', () => png({ width: W, height: H, depth: 2, colorType: 3, palette: [0, 1, 200] }, labels), /value 200 .*not a class id/],
      ['palette index past a 2-entry palette', () => png({ width: W, height: H, depth: 2, colorType: 3, palette: [0, 1] }, labels), /palette/],
      ['palette PNG without a palette', () => png({ width: W, height: H, depth: 8, colorType: 3 }, labels), /palette|PLTE/],
      ['16-bit value 300', () => png({ width: W, height: H, depth: 16, colorType: 0 }, labels.map((v) => v * 150)), /300|does not fit|class id/],
      ['2-bit interlaced (named limitation)', () => png({ width: W, height: H, depth: 2, colorType: 0, interlace: 1, idat: deflateSync(Buffer.alloc(40)) }), /interlaced/],
    ];
    for (const [name, make, message] of bad) {
      await tally.case(name, () => {
        assert.throws(() => decodeMaskPng(make()), (e: unknown) => {
          assert.ok(e instanceof MaskCodecError && e.code === 'MASK_INVALID', `${name}: ${String(e)}`);
          if (message) assert.match(e.message, message, name);
          return true;
        });
      });
    }
  });
});
