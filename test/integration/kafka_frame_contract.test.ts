/**
 * The frame contract as ordinary producers meet it, against the real broker: a producer that
 * sends only a key and JPEG bytes (kcat, DeepStream's message broker, an IoT SDK), and one that
 * stamps frames with epoch milliseconds, spells header names its own way and says `image/JPG`,
 * each get one result per frame. What cannot be right (no key, a zone-less time) is
 * dead-lettered with its own code and reason, and the frames around it are still segmented.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HEADER, parseSegmentation } from '../../core/index.js';
import type { OutRecord } from '../../runtime-node/transport/transport.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, isolate, readTopic, tinyModel, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('frame contract against a real Kafka broker', () => {
  let modelDir: string;
  let producer: KafkaTransport;

  before(async () => {
    await activateWasm();
    modelDir = await tinyModel(join(tempDir('contract'), 'tiny', '1'), 1, '1');
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('segments every frame of a producer that sends only a key and JPEG bytes, and of one that sends epoch-ms times', async () => {
    const { prefix, group, topics } = isolate('contract');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, log: quiet });
    try {
      const frames = await Promise.all(Array.from({ length: 6 }, (_, i) => jpeg(i, 64, 4)));
      const capturedMs = Date.now() - 5000;
      // Bare: no header at all. Each bare frame's id is then <topic>-<partition>-<offset>.
      const bare = frames.slice(0, 3).map((bytes) => ({ topic: topics.frames, key: 'kcat-cam', value: bytes }));
      const epoch = frames.slice(3).map((bytes, i) => ({
        topic: topics.frames,
        key: 'sdk-cam',
        value: bytes,
        headers: { 'Frame-Id': `epoch-${i}`, 'Content-Type': i === 0 ? 'image/JPG' : 'IMAGE/JPEG; charset=binary', 'Captured-At': String(capturedMs + i) },
      }));
      const refused: OutRecord[] = [
        { topic: topics.frames, key: null, value: frames[0], headers: { 'frame-id': 'no-key' } },
        { topic: topics.frames, key: 'sdk-cam', value: frames[0], headers: { 'frame-id': 'zone-less', 'captured-at': '2024-01-01 00:00:00' } },
      ];
      await producer.send([...bare, ...refused, ...epoch]);
      const [results, dlq] = await Promise.all([
        readTopic(topics.segmentations, { count: 6, settleMs: 1000 }),
        readTopic(topics.dlq, { count: 2, settleMs: 500 }),
      ]);
      assert.equal(results.length, 6, 'one result per frame');
      const byId = new Map(results.map((r) => [r.headers[HEADER.frameId], parseSegmentation(r.value.toString())]));
      const bareIds = [...byId.keys()].filter((id) => id.startsWith(`${topics.frames}-`));
      assert.equal(bareIds.length, 3, `bare frames get <topic>-<partition>-<offset> ids: ${[...byId.keys()].join(', ')}`);
      for (const id of bareIds) assert.match(id, new RegExp(`^${topics.frames.replace(/\./g, '\\.')}-\\d+-\\d+$`));
      for (let i = 0; i < 3; i++) {
        const m = byId.get(`epoch-${i}`);
        assert.ok(m, `result of epoch-${i}`);
        assert.equal(m.capturedAt, new Date(capturedMs + i).toISOString(), 'epoch ms read as milliseconds');
        assert.equal(m.sensorId, 'sdk-cam');
      }
      for (const m of byId.values()) {
        assert.match(m.capturedAt, RFC3339_UTC_MS);
        assert.match(m.processedAt, RFC3339_UTC_MS);
      }
      const codes = Object.fromEntries(dlq.map((r) => [r.headers[HEADER.frameId], r.headers[HEADER.errorCode]]));
      assert.deepEqual(codes, { 'no-key': 'MISSING_KEY', 'zone-less': 'INVALID_HEADER' });
      const zoneLess = dlq.find((r) => r.headers[HEADER.frameId] === 'zone-less')!;
      assert.match(zoneLess.headers[HEADER.errorMessage], /no time zone/);
      assert.equal(zoneLess.headers[HEADER.sensorId], 'sdk-cam');
      assert.equal(zoneLess.headers[HEADER.sourceTopic], topics.frames);
    } finally {
      await service.stop();
    }
  });
});
