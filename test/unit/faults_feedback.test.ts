/**
 * Labels that must change nothing: every refusal (bad JSON, fields of the wrong type, a mask of
 * the wrong size with a posted image, a deflate bomb, class ids outside the contract, an unknown
 * frame) leaves the store's objects, versions and pending frames as they were. And the store
 * grows with the labels added: a version's manifest holds only its additions, while `read`
 * still returns every sample of any version.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { decodeMaskPng, encodeMaskPng, syntheticSample, toBase64 } from '../../core/index.js';
import { FEEDBACK_SCHEMA, FeedbackStore, SNAPSHOT_MIN_SAMPLES, type FeedbackSample } from '../../core/node/feedback_store.js';
import { FeedbackIngest, FeedbackRejected, ingestFeedbackRecords } from '../../runtime-node/feedback/ingest.js';
import type { InRecord } from '../../runtime-node/transport/transport.js';
import { FaultTally } from '../helpers/fault_tally.js';

const tally = new FaultTally('feedback');
after(() => tally.report());

/** Every file under `dir` with its size: the store's state, compared before and after. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!f.endsWith('.lock')) out.push(`${p.slice(dir.length)} ${statSync(p).size}`);
    }
  };
  walk(dir);
  return out;
}

/** A PNG header claiming w×h 8-bit grey whose data inflates to `inflated` bytes. */
function bombPng(w: number, h: number, inflated: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(require_crc(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(inflated))), chunk('IEND', Buffer.alloc(0))]);
}
import { crc32 as require_crc } from 'node:zlib';

describe('faults: feedback store', () => {
  it('refuses bad labels and leaves the store exactly as it was', async () => {
    const dir = tempDir('faults-fb');
    const ingest = new FeedbackIngest({ store: dir });
    const s = syntheticSample(5, { size: 40, seed: 3 });
    const image = toBase64(await sharp(s.image.data, { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer());
    const mask = toBase64(encodeMaskPng(s.mask));
    // One stored label and one pending frame, so "untouched" covers every part of the store.
    await ingest.commit([await ingest.prepare({ frameId: 'seed', mask, image, source: 'test' })]);
    const pendingPng = await sharp(s.image.data, { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer();
    ingest.store.putPending({ frameId: 'waiting', sensorId: 's', image: ingest.store.putObject(pendingPng), contentType: 'image/png', modelVersion: 'm@1', score: 1, at: new Date().toISOString() });
    const before = snapshot(dir);
    const small = toBase64(encodeMaskPng({ data: new Uint8Array(24 * 24), width: 24, height: 24 }));
    const cases: [string, unknown, string][] = [
      ['mask 24×24 for a posted 40×40 image (image must not be stored)', { frameId: 'a1', mask: small, image: toBase64(await sharp({ create: { width: 40, height: 40, channels: 3, background: '#123456' } }).png().toBuffer()), source: 'x' }, 'MASK_MISMATCH'],
      ['mask 24×24 for a pending 40×40 frame', { frameId: 'waiting', mask: small, source: 'x' }, 'MASK_MISMATCH'],
      ['deflate bomb declaring the right size', { frameId: 'waiting', mask: toBase64(bombPng(40, 40, 48 << 20)), source: 'x' }, 'MASK_INVALID'],
      ['deflate bomb declaring a huge size', { frameId: 'waiting', mask: toBase64(bombPng(16000, 16000, 1 << 20)), source: 'x' }, 'MASK_MISMATCH'],
      ['class id 5', { frameId: 'waiting', mask: toBase64(encodeMaskPng({ data: new Uint8Array(1600).fill(5), width: 40, height: 40 })), source: 'x' }, 'MASK_INVALID'],
      ['mask not base64', { frameId: 'waiting', mask: '!!!', source: 'x' }, 'FEEDBACK_INVALID'],
      ['mask over the size limit', { frameId: 'waiting', mask: 'A'.repeat(2 << 20), source: 'x' }, 'FEEDBACK_TOO_LARGE'],
      // Frame ids follow the frame contract's rule: '../x' is a valid id, and the store encodes it.
      ['frameId with a slash, never requested', { frameId: '../x', mask, source: 'x' }, 'FRAME_UNKNOWN'],
      ['frameId with a control character', { frameId: 'a\u0000b', mask, source: 'x' }, 'FEEDBACK_INVALID'],
      ['frameId of 257 characters', { frameId: 'f'.repeat(257), mask, source: 'x' }, 'FEEDBACK_INVALID'],
      ['frameId a number', { frameId: 7, mask, source: 'x' }, 'FEEDBACK_INVALID'],
      ['labeler an object', { frameId: 'waiting', mask, source: 'x', labeler: { a: 1 } }, 'FEEDBACK_INVALID'],
      ['at not a time', { frameId: 'waiting', mask, source: 'x', at: 'yesterday-ish' }, 'FEEDBACK_INVALID'],
      ['source empty', { frameId: 'waiting', mask, source: '' }, 'FEEDBACK_INVALID'],
      ['image a number', { frameId: 'b', mask, image: 12, source: 'x' }, 'FEEDBACK_INVALID'],
      ['image a GIF', { frameId: 'b', mask, image: toBase64(Buffer.from('GIF89a' + 'x'.repeat(40))), source: 'x' }, 'IMAGE_INVALID'],
      ['image a truncated PNG', { frameId: 'b', mask, image: toBase64((await sharp({ create: { width: 40, height: 40, channels: 3, background: '#fff' } }).png().toBuffer()).subarray(0, 60)), source: 'x' }, 'IMAGE_INVALID'],
      ['unknown frame, no image', { frameId: 'never', mask, source: 'x' }, 'FRAME_UNKNOWN'],
      ['JSON array', '[1,2]', 'FEEDBACK_INVALID'],
      ['not JSON', '{"frameId":', 'FEEDBACK_INVALID'],
      ['null', 'null', 'FEEDBACK_INVALID'],
    ];
    for (const [name, body, code] of cases) {
      await tally.case(name, async () => {
        await assert.rejects(ingest.prepare(typeof body === 'string' ? body : JSON.stringify(body)), (e: unknown) => {
          assert.ok(e instanceof FeedbackRejected, `${name}: ${String(e)}`);
          assert.equal(e.code, code, `${name}: ${e.message}`);
          return true;
        });
        assert.deepEqual(snapshot(dir), before, `${name}: the store changed`);
      });
    }
    await tally.case('a Kafka batch of bad labels: dead letters only, no version', async () => {
      const records: InRecord[] = cases.map(([, body], i) => ({ topic: 'fb', partition: 0, offset: String(i), key: null, value: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), headers: {}, timestamp: '0' }) as InRecord);
      const { version, deadLetters } = await ingestFeedbackRecords(ingest, records, 'dlq');
      assert.equal(version, null);
      assert.equal(deadLetters.length, cases.length);
      assert.deepEqual(snapshot(dir), before);
    });
    assert.ok(ingest.store.getPending('waiting'));
  });

  it('stores a palette mask whose indices differ from its values by its colour values', async () => {
    const ingest = new FeedbackIngest({ store: tempDir('faults-fb-palette') });
    const s = syntheticSample(9, { size: 40, seed: 5 });
    const image = toBase64(await sharp(s.image.data, { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer());
    // Index k holds class (k + 1) % 3: index 0 is class 1, index 2 is the background.
    const palette: [number, number, number][] = [[1, 1, 1], [2, 2, 2], [0, 0, 0]];
    const indices = s.mask.data.map((v) => (v + 2) % 3);
    const palettePng = encodePng({ width: 40, height: 40, data: indices, depth: 8, channels: 1, palette });
    assert.equal(decodePng(palettePng).palette?.length, 3, 'written as a palette PNG');
    const sample = await ingest.prepare({ frameId: 'cam/1 palette', mask: toBase64(palettePng), image, source: 'test' });
    await ingest.commit([sample]);
    const stored = ingest.store.read().samples.find((x) => x.id === 'cam/1 palette')!;
    assert.deepEqual(decodeMaskPng(readFileSync(ingest.store.objectPath(stored.mask))).data, s.mask.data);
  });

  it('writes manifests that hold only their additions, and reads every version whole', async () => {
    const store = new FeedbackStore(tempDir('faults-fb-grow'));
    const obj = store.putObject(new Uint8Array([1, 2, 3]));
    const sample = (id: string): FeedbackSample => ({ id, image: obj, mask: obj, source: 'test', at: '2026-01-01T00:00:00.000Z' });
    const n = SNAPSHOT_MIN_SAMPLES * 2 + 37;
    const ids: string[][] = [];
    for (let v = 1; v <= n; v++) {
      // Every 10th label relabels an older frame: the newest wins, the count does not grow.
      const id = v % 10 === 0 ? `f${v - 5}` : `f${v}`;
      await store.append([sample(id)]);
      ids.push([...new Set([...(ids.at(-1) ?? []), id])]);
    }
    for (const v of [1, 2, 9, 10, SNAPSHOT_MIN_SAMPLES, SNAPSHOT_MIN_SAMPLES + 1, n - 1, n]) {
      const got = store.read(v);
      assert.equal(got.version, v);
      assert.deepEqual(new Set(got.samples.map((s) => s.id)), new Set(ids[v - 1]), `version ${v}`);
      assert.equal(got.added, 1);
    }
    const manifests = readdirSync(join(store.dir, 'versions')).filter((f) => f.endsWith('.json'));
    const largest = Math.max(...manifests.map((f) => statSync(join(store.dir, 'versions', f)).size));
    const full = JSON.stringify(store.read(n)).length;
    assert.ok(largest * 20 < full, `a manifest (${largest} B) holds only its additions, not all ${store.read(n).samples.length} samples (${full} B)`);
    const snapshots = readdirSync(join(store.dir, 'snapshots'));
    const snapshotBytes = snapshots.reduce((b, f) => b + statSync(join(store.dir, 'snapshots', f)).size, 0);
    assert.ok(snapshotBytes < 4 * full, `${snapshots.length} snapshots hold ${snapshotBytes} B, a few times the ${full} B of all labels`);
    console.log(`feedback store: ${n} one-label versions → manifests ≤ ${largest} B each, ${snapshots.length} snapshots (${snapshotBytes} B), one full list ${full} B`);
  });

  it('reads stores written in the old layout (every version a full manifest) and appends to them', async () => {
    const dir = tempDir('faults-fb-old');
    const store = new FeedbackStore(dir);
    const obj = store.putObject(new Uint8Array([9]));
    const s = (id: string): FeedbackSample => ({ id, image: obj, mask: obj, source: 'old', at: '2025-01-01T00:00:00.000Z' });
    mkdirSync(join(dir, 'versions'), { recursive: true });
    writeFileSync(join(dir, 'versions', '000001.json'), JSON.stringify({ schema: FEEDBACK_SCHEMA, version: 1, parent: null, created: 'x', added: 1, samples: [s('a')] }));
    writeFileSync(join(dir, 'versions', '000002.json'), JSON.stringify({ schema: FEEDBACK_SCHEMA, version: 2, parent: 1, created: 'x', added: 1, samples: [s('a'), s('b')] }));
    await store.append([s('c')]);
    assert.deepEqual(store.read(3).samples.map((x) => x.id), ['a', 'b', 'c']);
    assert.deepEqual(store.read(2).samples.map((x) => x.id), ['a', 'b']);
    assert.equal(JSON.parse(readFileSync(join(dir, 'versions', '000003.json'), 'utf8')).samples.length, 1);
  });
});
