/** Dead letters stay within what the DLQ topic accepts, whatever the refused record holds. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { HEADER } from '../../core/index.js';
import { deadLetterRecord } from '../../runtime-node/transport/dead_letter.js';
import { FeedbackIngest, ingestFeedbackRecords } from '../../runtime-node/feedback/ingest.js';
import type { InRecord } from '../../runtime-node/transport/transport.js';

const record = (value: Buffer, headers: Record<string, string> = {}, key: Buffer | null = Buffer.from('cam')): InRecord => ({ topic: 'frames', partition: 3, offset: '41', key, value, headers, timestamp: '0' });
const size = (r: ReturnType<typeof deadLetterRecord>) => Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0) + Object.entries(r.headers ?? {}).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0);

describe('dead letters', () => {
  it('keep a small record as it came, with the reason and source', () => {
    const d = deadLetterRecord(record(Buffer.from('abc'), { 'frame-id': 'f1' }), 'dlq', 'UNDECODABLE', 'bad');
    assert.deepEqual(d.value, Buffer.from('abc'));
    assert.equal(d.headers!['frame-id'], 'f1');
    assert.equal(d.headers![HEADER.errorCode], 'UNDECODABLE');
    assert.equal(d.headers![HEADER.sourceOffset], '41');
    assert.equal(d.headers![HEADER.originalSize], undefined);
  });

  it('cut a large value to its first bytes, naming the original size and sha256', () => {
    const big = randomBytes(3 << 20);
    const d = deadLetterRecord(record(big, { huge: 'x'.repeat(100_000) }, Buffer.alloc(50_000, 1)), 'dlq', 'FRAME_TOO_LARGE', 'm'.repeat(100_000), { maxValueBytes: 64 * 1024 });
    assert.ok(size(d) < 80 * 1024, `${size(d)} bytes`);
    assert.ok(big.subarray(0, 64 * 1024).equals(d.value as Buffer));
    assert.equal(d.headers![HEADER.originalSize], String(big.length));
    assert.equal(d.headers![HEADER.originalSha256], createHash('sha256').update(big).digest('hex'));
    assert.equal(d.headers![HEADER.valueTruncated], 'true');
  });

  it('with keepDir, keep the whole value in a file and reference it', () => {
    const dir = tempDir('dlq-kept');
    const big = randomBytes(1 << 20);
    const d = deadLetterRecord(record(big), 'dlq', 'UNDECODABLE', 'bad', { maxValueBytes: 1024, keepDir: dir });
    assert.equal((d.value as Buffer).length, 0);
    assert.ok(readFileSync(d.headers![HEADER.valueRef]).equals(big));
  });

  it('keep a truncated feedback label findable by its frame id, sensor and source', async () => {
    const ingest = new FeedbackIngest({ store: tempDir('dlq-feedback') });
    const label = (frameId: string, mask: string) => Buffer.from(JSON.stringify({ frameId, mask, source: 'labeler' }));
    const records: InRecord[] = [
      { ...record(label('cam/7 frame 12', 'A'.repeat(300_000)), {}, Buffer.from('cam-7')), topic: 'feedback', offset: '5' },
      // Not whole JSON any more, but its id is in its first bytes.
      { ...record(label('cut-short', 'B'.repeat(300_000)).subarray(0, 200_000), {}, null), topic: 'feedback', offset: '6' },
      { ...record(Buffer.from('not json at all'), {}, null), topic: 'feedback', offset: '7' },
    ];
    const { deadLetters } = await ingestFeedbackRecords(ingest, records, 'dlq', { deadLetters: { maxValueBytes: 1024 } });
    assert.equal(deadLetters.length, 3);
    const [big, cut, junk] = deadLetters;
    assert.equal(big.headers![HEADER.valueTruncated], 'true');
    assert.equal(big.headers![HEADER.frameId], 'cam/7 frame 12');
    assert.equal(big.headers![HEADER.sensorId], 'cam-7');
    assert.deepEqual([big.headers![HEADER.sourceTopic], big.headers![HEADER.sourcePartition], big.headers![HEADER.sourceOffset]], ['feedback', '3', '5']);
    assert.equal(cut.headers![HEADER.frameId], 'cut-short');
    assert.equal(cut.headers![HEADER.sourceOffset], '6');
    assert.equal(junk.headers![HEADER.frameId], undefined, 'no id is made up for a label that names none');
    assert.equal(junk.headers![HEADER.sourceOffset], '7');
  });
});
