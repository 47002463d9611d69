import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeMaskPng, fromBase64, HEADER, parseSegmentation } from '../../core/index.js';
import { imageToInput } from '../../core/preprocess.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, frameRecord, isolate, readTopic, tinyModel, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';


describe('runtime-node against a real Kafka broker', () => {
  let modelDir: string;
  let producer: KafkaTransport;

  before(async () => {
    await activateWasm();
    modelDir = await tinyModel(join(tempDir('stream'), 'tiny', '1'), 1, '1');
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('turns N frames into exactly N results whose masks equal the in-process model', async () => {
    const { prefix, group, topics } = isolate('e2e');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, log: quiet });
    try {
      const n = 24;
      const frames = await Promise.all(Array.from({ length: n }, (_, i) => jpeg(i, 96 + (i % 3) * 16, 4)));
      await producer.send(frames.map((bytes, i) => frameRecord(topics.frames, `e2e-${i}`, `sensor-${i % 3}`, bytes)));
      const results = await readTopic(topics.segmentations, { count: n, settleMs: 1500 });
      assert.equal(results.length, n, 'one result per frame');
      const { model } = await loadLayersModel(modelDir);
      for (const r of results) {
        const msg = parseSegmentation(r.value.toString());
        const i = Number(msg.frameId.split('-')[1]);
        assert.equal(r.key, `sensor-${i % 3}`);
        assert.equal(msg.modelVersion, 'tiny@1');
        assert.deepEqual([msg.width, msg.height, msg.maskFormat], [128, 128, 'png']);
        const image = await decodeImage(frames[i]);
        const ref = tf.tidy(() => tf.argMax(model.predict(tf.expandDims(imageToInput(image))) as tf.Tensor, -1));
        const expected = Array.from(await ref.data());
        ref.dispose();
        assert.deepEqual(Array.from(decodeMaskPng(fromBase64(msg.mask as string)).data), expected, `mask of ${msg.frameId}`);
        assert.ok(Math.abs(msg.classCoverage.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      }
      model.dispose();
      const snap = await service.metrics.registry.getSingleMetricAsString('edgeseg_frames_out_total');
      assert.match(snap, new RegExp(`edgeseg_frames_out_total ${n}$`, 'm'));
    } finally {
      await service.stop();
    }
  });

  it('sends poison frames to the dead-letter topic with their code, original bytes and source, and processes the frames around them', async () => {
    const { prefix, group, topics } = isolate('poison');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, limits: { maxFrameBytes: 60_000, maxSide: 1024 }, log: quiet });
    try {
      const good = await jpeg(1, 96);
      const noise = randomBytes(400 * 400 * 3);
      const big = await sharp(noise, { raw: { width: 400, height: 400, channels: 3 } }).png().toBuffer();
      const raw = Buffer.alloc(20 * 10 * 3, 90);
      const t = topics.frames;
      const poison: [string, ReturnType<typeof frameRecord>][] = [
        ['UNDECODABLE', frameRecord(t, 'bad-jpeg', 's1', Buffer.from('definitely not a jpeg'))],
        ['FRAME_TOO_LARGE', frameRecord(t, 'too-big', 's1', big, 'image/png')],
        ['UNKNOWN_CONTENT_TYPE', frameRecord(t, 'gif', 's1', good, 'image/gif')],
        ['INVALID_HEADER', frameRecord(t, 'zone-less', 's1', good, 'image/jpeg', { 'captured-at': '2024-01-01T00:00:00' })],
        ['MISSING_KEY', frameRecord(t, 'no-key', null, good)],
        ['SCHEMA_MISMATCH', frameRecord(t, 'schema-v9', 's1', good, 'image/jpeg', { schema: 'edgeseg.frame.v9' })],
        ['RAW_SIZE_MISMATCH', frameRecord(t, 'raw-short', 's1', raw.subarray(0, 500), 'application/x-rgb8', { width: '20', height: '10' })],
        ['DIMENSIONS_OUT_OF_RANGE', frameRecord(t, 'raw-huge', 's1', raw, 'application/x-rgb8', { width: '5000', height: '10' })],
        ['MISSING_HEADER', frameRecord(t, 'raw-nodims', 's1', raw, 'application/x-rgb8')],
      ];
      const goodRecords = [
        frameRecord(t, 'ok-1', 's1', good),
        frameRecord(t, 'ok-raw', 's1', raw, 'application/x-rgb8', { width: '20', height: '10' }),
        frameRecord(t, 'ok-2', 's1', good),
      ];
      // All on one sensor (one partition), poison interleaved with good frames.
      await producer.send([goodRecords[0], ...poison.slice(0, 5).map(([, r]) => r), goodRecords[1], ...poison.slice(5).map(([, r]) => r), goodRecords[2]]);
      const [dlq, results] = await Promise.all([readTopic(topics.dlq, { count: poison.length, settleMs: 1000 }), readTopic(topics.segmentations, { count: 3, settleMs: 1000 })]);
      assert.deepEqual(results.map((r) => r.headers[HEADER.frameId]).sort(), ['ok-1', 'ok-2', 'ok-raw']);
      assert.equal(dlq.length, poison.length);
      const codes = dlq.map((r) => r.headers[HEADER.errorCode]).sort();
      assert.deepEqual(codes, poison.map(([c]) => c).sort());
      for (const r of dlq) {
        assert.equal(r.headers[HEADER.sourceTopic], t);
        assert.match(r.headers[HEADER.sourceOffset], /^\d+$/);
        assert.ok(r.headers[HEADER.errorMessage].length > 5);
      }
      assert.ok(big.length > 60_000);
      const tooBig = dlq.find((r) => r.headers[HEADER.errorCode] === 'FRAME_TOO_LARGE')!;
      assert.ok(tooBig.value.equals(big), 'original bytes kept');
      assert.equal(tooBig.headers[HEADER.frameId], 'too-big', 'original headers kept');
    } finally {
      await service.stop();
    }
  });
});
