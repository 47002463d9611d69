/**
 * The frame contract's rules one by one (README "Frame records"): defaults for absent headers,
 * case-insensitive names and media types, the capture-time forms and the magnitude rule for
 * epoch digits, and the refusals with their own codes. Dead letters carry the ids they know.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FrameError, HEADER, parseFeedback } from '../../core/index.js';
import { epochDigitsToMs, parseCapturedAt, recordIdSchema, sniffImageType } from '../../core/frame_headers.js';
import { deadLetterRecord } from '../../runtime-node/transport/dead_letter.js';
import { validateFrame } from '../../runtime-node/transport/frame_validation.js';
import type { InRecord } from '../../runtime-node/transport/transport.js';
import { FaultTally } from '../helpers/fault_tally.js';

const tally = new FaultTally('frame headers');
after(() => tally.report());

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);
const TS = Date.UTC(2024, 11, 7, 5, 40, 0, 123);

const rec = (headers: Record<string, string>, value: Buffer | null = JPEG, key: string | null = 'cam-1'): InRecord => ({
  topic: 'edgeseg.frames',
  partition: 2,
  offset: '17',
  key: key === null ? null : Buffer.from(key),
  value,
  headers,
  timestamp: String(TS),
});
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof FrameError, `a FrameError, not ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
  assert.fail('accepted');
};

describe('frame contract', () => {
  it('gives a frame with no header at all its documented defaults', () => {
    const f = validateFrame(rec({}));
    assert.equal(f.frameId, 'edgeseg.frames-2-17');
    assert.equal(f.contentType, 'image/jpeg');
    assert.equal(f.capturedAt, new Date(TS).toISOString());
    assert.equal(f.sensorId, 'cam-1');
  });

  it('sniffs JPEG, PNG and WebP and refuses unknown bytes without a content type', () => {
    assert.equal(sniffImageType(JPEG), 'image/jpeg');
    assert.equal(sniffImageType(PNG), 'image/png');
    assert.equal(sniffImageType(WEBP), 'image/webp');
    assert.equal(validateFrame(rec({}, PNG)).contentType, 'image/png');
    assert.equal(validateFrame(rec({}, WEBP)).contentType, 'image/webp');
    assert.match(refusal(() => validateFrame(rec({}, Buffer.from('GIF89a....')))), /^UNKNOWN_CONTENT_TYPE: no 'content-type' header/);
  });

  it('reads header names and media types in any case, with image/jpg as an alias', () => {
    for (const type of ['image/jpg', 'image/JPEG', 'Image/Jpg; q=1', ' image/jpeg ']) {
      assert.equal(validateFrame(rec({ 'Content-Type': type, 'FRAME-ID': 'f1', Schema: 'edgeseg.frame.v1' })).contentType, 'image/jpeg', type);
    }
    assert.equal(validateFrame(rec({ 'Frame-Id': 'f1' })).frameId, 'f1');
    assert.match(refusal(() => validateFrame(rec({ 'content-type': 'image/gif' }))), /^UNKNOWN_CONTENT_TYPE/);
    assert.match(refusal(() => validateFrame(rec({ schema: 'edgeseg.frame.v2' }))), /^SCHEMA_MISMATCH/);
  });

  it('reads epoch digits by magnitude: seconds, milliseconds, microseconds, nanoseconds', () => {
    const iso = new Date(1733550000123).toISOString();
    assert.equal(parseCapturedAt('1733550000', 0), new Date(1733550000000).toISOString());
    assert.equal(parseCapturedAt('1733550000123', 0), iso);
    assert.equal(parseCapturedAt('1733550000123456', 0), iso);
    assert.equal(parseCapturedAt('1733550000123456789', 0), iso);
    assert.equal(epochDigitsToMs('99999999999'), 99999999999000);
    assert.equal(epochDigitsToMs('100000000000'), 100000000000);
    assert.equal(validateFrame(rec({ 'captured-at': '1733550000123' })).capturedAt, iso);
  });

  it('accepts ISO 8601 with a zone and states it in RFC 3339 UTC with milliseconds', () => {
    assert.equal(parseCapturedAt('2024-12-07T06:40:00+01:00', 0), '2024-12-07T05:40:00.000Z');
    assert.equal(parseCapturedAt('2024-12-07T05:40:00.123456789Z', 0), '2024-12-07T05:40:00.123Z');
    assert.equal(parseCapturedAt('2024-12-07 05:40:00+0000', 0), '2024-12-07T05:40:00.000Z');
  });

  it('refuses a zone-less time with the reason, and garbage times with their own message', () => {
    assert.match(refusal(() => validateFrame(rec({ 'captured-at': '2024-01-01 00:00:00' }))), /^INVALID_HEADER: .*no time zone/);
    assert.match(refusal(() => validateFrame(rec({ 'captured-at': '2024-01-01' }))), /no time zone/);
    assert.match(refusal(() => validateFrame(rec({ 'captured-at': 'yesterday' }))), /^INVALID_HEADER: .*neither ISO 8601/);
    assert.match(refusal(() => validateFrame(rec({ 'captured-at': '9'.repeat(21) }))), /^INVALID_HEADER/);
  });

  it('refuses a missing key with its own code', () => {
    assert.match(refusal(() => validateFrame(rec({}, JPEG, null))), /^MISSING_KEY/);
    assert.match(refusal(() => validateFrame(rec({}, JPEG, ''))), /^MISSING_KEY/);
  });

  it('applies one id rule to frame ids and label ids', () => {
    for (const id of ['cam/1 2024-12-07', 'x'.repeat(256), 'ü-ß', 'a:b.c_d-e']) {
      assert.equal(validateFrame(rec({ 'frame-id': id })).frameId, id);
      assert.equal(parseFeedback(JSON.stringify({ frameId: id, mask: 'AA==', source: 's' })).frameId, id);
    }
    for (const id of ['', ' ', 'x'.repeat(257), 'a\u0001b', 'a\nb']) {
      assert.equal(recordIdSchema.safeParse(id).success, false, JSON.stringify(id));
      assert.match(refusal(() => validateFrame(rec({ 'frame-id': id }))), /^INVALID_HEADER/);
      assert.throws(() => parseFeedback(JSON.stringify({ frameId: id, mask: 'AA==', source: 's' })), { code: 'CONTRACT_MISMATCH' });
    }
  });

  it('dead letters carry frame id, sensor id and source whatever their value', () => {
    const d = deadLetterRecord(rec({}, Buffer.alloc(4096, 1)), 'dlq', 'UNDECODABLE', 'bad', { maxValueBytes: 16 });
    assert.equal(d.headers![HEADER.frameId], 'edgeseg.frames-2-17');
    assert.equal(d.headers![HEADER.sensorId], 'cam-1');
    assert.deepEqual([d.headers![HEADER.sourceTopic], d.headers![HEADER.sourcePartition], d.headers![HEADER.sourceOffset]], ['edgeseg.frames', '2', '17']);
    assert.equal(deadLetterRecord(rec({ 'Frame-ID': 'mine' }), 'dlq', 'X', 'm').headers![HEADER.frameId], 'mine');
    assert.equal(deadLetterRecord(rec({}), 'dlq', 'X', 'm', {}, { frameId: 'label-7' }).headers![HEADER.frameId], 'label-7');
    assert.equal(deadLetterRecord(rec({}), 'dlq', 'X', 'm', {}, { frameId: null }).headers![HEADER.frameId], undefined);
  });

  it('dead-letters every frame that cannot be right with its own code and reason', async () => {
    const raw = Buffer.alloc(4 * 2 * 3);
    const cases: [string, InRecord, string][] = [
      ['no key', rec({}, JPEG, null), 'MISSING_KEY'],
      ['zone-less ISO time', rec({ 'captured-at': '2024-01-01T00:00:00' }), 'INVALID_HEADER'],
      ['zone-less time with a space', rec({ 'captured-at': '2024-01-01 00:00:00.5' }), 'INVALID_HEADER'],
      ['time in words', rec({ 'captured-at': 'now' }), 'INVALID_HEADER'],
      ['epoch digits past 20 digits', rec({ 'captured-at': '1'.repeat(21) }), 'INVALID_HEADER'],
      ['negative epoch', rec({ 'captured-at': '-1733550000000' }), 'INVALID_HEADER'],
      ['time before 1970 with a zone', rec({ 'captured-at': '1969-12-31T23:59:59Z' }), 'INVALID_HEADER'],
      ['unknown media type', rec({ 'content-type': 'image/gif' }), 'UNKNOWN_CONTENT_TYPE'],
      ['no content type, bytes not an image', rec({}, Buffer.from('hello world, not an image')), 'UNKNOWN_CONTENT_TYPE'],
      ['frame id with a control character', rec({ 'frame-id': 'a\u0007b' }), 'INVALID_HEADER'],
      ['frame id of 257 characters', rec({ 'frame-id': 'f'.repeat(257) }), 'INVALID_HEADER'],
      ['blank frame id', rec({ 'frame-id': '   ' }), 'INVALID_HEADER'],
      ['another schema', rec({ Schema: 'edgeseg.frame.v2' }), 'SCHEMA_MISMATCH'],
      ['empty value', rec({}, Buffer.alloc(0)), 'UNDECODABLE'],
      ['raw frame without width', rec({ 'content-type': 'application/x-rgb8', height: '2' }, raw), 'MISSING_HEADER'],
      ['raw frame of the wrong size', rec({ 'content-type': 'application/x-rgb8', width: '4', height: '3' }, raw), 'RAW_SIZE_MISMATCH'],
    ];
    for (const [name, record, code] of cases) {
      await tally.case(name, () => {
        const got = refusal(() => validateFrame(record));
        assert.ok(got.startsWith(`${code}: `), `${name}: ${got}`);
        const letter = deadLetterRecord(record, 'dlq', code, got);
        assert.equal(letter.headers![HEADER.sourceOffset], '17');
        assert.ok(letter.headers![HEADER.frameId], 'the dead letter carries a frame id');
      });
    }
  });
});
