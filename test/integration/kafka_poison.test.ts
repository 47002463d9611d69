/**
 * Poison records against a real broker: frames far over what the dead-letter topic accepts (on a
 * frames topic that allows big messages), feedback records that are deflate bombs or huge, and a
 * consumer that gives up. Each must be dead-lettered once within the DLQ's limit (original size
 * and sha256 in headers) while the service keeps serving, and a consumer that stopped must show
 * in /healthz, /readyz and the metrics.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { encodeMaskPng, HEADER, toBase64 } from '../../core/index.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import type { ConsumerHandle, Transport } from '../../runtime-node/transport/transport.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { FaultTally } from '../helpers/fault_tally.js';
import { brokers, frameRecord, isolate, readTopic, tinyModel, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

const tally = new FaultTally('kafka');
after(() => tally.report());

/** The broker's default `max.message.bytes` of a topic created without settings (the DLQ). */
const DLQ_TOPIC_LIMIT = 1048588;

function bombPng(w: number, h: number, inflated: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(inflated))), chunk('IEND', Buffer.alloc(0))]);
}

describe('poison records (real broker)', () => {
  let modelDir: string;
  let producer: KafkaTransport;

  before(async () => {
    modelDir = await tinyModel(join(tempDir('poison'), 'tiny', '1'), 3, '1');
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('dead-letters over-large frames and feedback bombs once each, within the DLQ limit, and keeps serving', async () => {
    const { prefix, group, topics } = isolate('poison');
    // The frames topic takes 8 MiB records; the DLQ keeps the broker default (1 MiB).
    const admin = new Kafka({ brokers: brokers(), clientId: 'poison-admin', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topics.frames, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: String(8 << 20) }] }], waitForLeaders: true });
    await admin.disconnect();
    const store = tempDir('poison-store');
    const fb = new FeedbackStore(store);
    const frameJpeg = await jpeg(1, 96);
    fb.putPending({ frameId: 'pending-1', sensorId: 's', image: fb.putObject(frameJpeg), contentType: 'image/jpeg', modelVersion: 'tiny@1', score: 1, at: new Date().toISOString() });
    const service = await StreamService.start({
      model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, watchModels: false, log: quiet, sessionTimeoutMs: 6000,
      limits: { maxFrameBytes: 3 << 20 },
      feedback: { store, maxMaskBytes: 256 * 1024 },
    });
    const fatal: Error[] = [];
    service.on('fatal', (e) => fatal.push(e));
    const health: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        health.push((await fetch(`${service.url}/healthz`)).status);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const garbage = (n: number, seed: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, seed]), randomBytes(n - 4)]);
      const poison = [
        { name: '2.5 MiB garbage as image/jpeg (UNDECODABLE)', code: 'UNDECODABLE', record: frameRecord(topics.frames, 'p-garbage', 'cam-1', garbage(2.5 * 2 ** 20, 1)) },
        { name: '5 MiB frame over maxFrameBytes (FRAME_TOO_LARGE)', code: 'FRAME_TOO_LARGE', record: frameRecord(topics.frames, 'p-large', 'cam-2', garbage(5 * 2 ** 20, 2)) },
        { name: '1.5 MiB raw frame with the wrong size (RAW_SIZE_MISMATCH)', code: 'RAW_SIZE_MISMATCH', record: frameRecord(topics.frames, 'p-raw', 'cam-1', randomBytes(1.5 * 2 ** 20), 'application/x-rgb8', { width: '64', height: '64' }) },
        { name: '1.2 MiB frame with a 1 KiB frame-id of control characters', code: 'INVALID_HEADER', record: frameRecord(topics.frames, '\u0001'.repeat(200), 'cam-3', garbage(1.2 * 2 ** 20, 3)) },
      ];
      const good = [0, 1, 2].map((i) => frameRecord(topics.frames, `ok-${i}`, 'cam-1', frameJpeg));
      await producer.send([good[0], ...poison.map((p) => p.record), good[1]]);
      const bombs = [
        { name: 'feedback bomb: right size, 48 MiB inflated', code: 'MASK_INVALID', value: { frameId: 'pending-1', mask: toBase64(bombPng(96, 96, 48 << 20)), source: 'kafka' } },
        { name: 'feedback bomb: declares 20000×20000', code: 'MASK_MISMATCH', value: { frameId: 'pending-1', mask: toBase64(bombPng(20000, 20000, 1 << 20)), source: 'kafka' } },
        { name: 'feedback 600 KB mask (over maxMaskBytes)', code: 'FEEDBACK_TOO_LARGE', value: { frameId: 'pending-1', mask: 'A'.repeat(600_000), source: 'kafka' } },
        { name: 'feedback not JSON', code: 'FEEDBACK_INVALID', value: '{"frameId": ' },
      ];
      await producer.send(bombs.map((b) => ({ topic: topics.feedback, key: 'k', value: typeof b.value === 'string' ? b.value : JSON.stringify(b.value) })));
      await producer.send([good[2], { topic: topics.feedback, key: 'k', value: JSON.stringify({ frameId: 'pending-1', mask: toBase64(encodeMaskPng({ data: new Uint8Array(96 * 96), width: 96, height: 96 })), source: 'kafka' }) }]);
      const expected = poison.length + bombs.length;
      const dlq = await readTopic(topics.dlq, { count: expected, settleMs: 3000, timeoutMs: 120_000 });
      const results = await readTopic(topics.segmentations, { count: 3, timeoutMs: 60_000 });
      for (const p of [...poison, ...bombs]) {
        await tally.case(p.name, () => {
          const letters = dlq.filter((d) => d.headers[HEADER.errorCode] === p.code);
          assert.equal(letters.length, 1, `${p.name}: ${letters.length} dead letters with ${p.code} (codes seen: ${dlq.map((d) => d.headers[HEADER.errorCode])})`);
          const d = letters[0];
          const size = d.value.length + Object.entries(d.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
          assert.ok(size < DLQ_TOPIC_LIMIT - 64 * 1024, `${p.name}: dead letter of ${size} bytes`);
          const original = 'record' in p ? (p.record.value as Buffer) : Buffer.from(typeof p.value === 'string' ? p.value : JSON.stringify(p.value));
          if (original.length > 512 * 1024) {
            assert.equal(d.headers[HEADER.originalSize], String(original.length));
            assert.equal(d.headers[HEADER.originalSha256], createHash('sha256').update(original).digest('hex'));
            assert.ok(original.subarray(0, d.value.length).equals(d.value), 'the kept bytes are the first bytes of the original');
          } else {
            assert.ok(d.value.equals(original));
          }
        });
      }
      await tally.case('frames around the poison still get results', () => assert.deepEqual(results.map((r) => r.headers[HEADER.frameId]).sort(), ['ok-0', 'ok-1', 'ok-2']));
      await tally.case('the valid label after the bombs is stored', () => assert.equal(fb.read().samples.length, 1));
      polling = false;
      await poller;
      await tally.case('/healthz answered 200 throughout, no fatal error', () => {
        assert.deepEqual(fatal, []);
        assert.ok(health.length > 0 && health.every((s) => s === 200), `health statuses: ${[...new Set(health)]}`);
      });
    } finally {
      polling = false;
      await poller;
      await service.stop();
    }
  });

  it('reports a consumer that gave up in /healthz, /readyz and the metrics', async () => {
    const { prefix, group } = isolate('gaveup');
    const real = transport();
    let giveUp: (err: Error) => void = () => {};
    // The real transport, except that the models consumer's `failed` settles on demand (as after
    // exhausted restarts); everything else talks to the broker.
    const wrapped: Transport = {
      connect: () => real.connect(),
      ensureTopics: (t) => real.ensureTopics(t),
      send: (r) => real.send(r),
      disconnect: () => real.disconnect(),
      consume: async (options, handler) => {
        const handle = await real.consume(options, handler);
        if (!options.groupId.includes('.models.')) return handle;
        const failed = new Promise<Error>((resolve) => (giveUp = resolve));
        return { ...handle, failed, pause: () => handle.pause(), resume: () => handle.resume(), stop: () => handle.stop(), assignedPartitions: () => handle.assignedPartitions() } satisfies ConsumerHandle;
      },
    };
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, log: quiet, transport: wrapped, feedback: { store: tempDir('gaveup-store') } });
    try {
      assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
      const before = (await (await fetch(`${service.url}/readyz`)).json()) as { consumers: Record<string, string> };
      assert.deepEqual(before.consumers, { frames: 'running', feedback: 'running', models: 'running' });
      giveUp(new Error('CONSUMER_FAILED: restarts exhausted'));
      await new Promise((r) => setTimeout(r, 50));
      await tally.case('a models consumer that gave up', async () => {
        for (const path of ['/healthz', '/readyz']) {
          const res = await fetch(`${service.url}${path}`);
          assert.equal(res.status, 503, path);
          const body = (await res.json()) as { ok: boolean; consumers: Record<string, string> };
          assert.equal(body.ok, false);
          assert.match(body.consumers.models, /^failed: .*restarts exhausted/);
          assert.equal(body.consumers.frames, 'running');
        }
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        assert.match(metrics, /edgeseg_consumer_up\{consumer="models"\} 0/);
        assert.match(metrics, /edgeseg_consumer_up\{consumer="frames"\} 1/);
      });
    } finally {
      await service.stop();
    }
  });
});
