import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeMaskPng, fromBase64, parseSegmentation } from '../../core/index.js';
import { imageToInput } from '../../core/preprocess.js';
import { nhwcToNchw } from '../../core/tensor_layout.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import { importModel } from '../../converter/import/import_model.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { IMPORT_FIXTURES } from '../helpers/import_fixtures.js';
import { brokers, frameRecord, isolate, readTopic, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

describe('an imported tf2onnx model streamed through Kafka', () => {
  let producer: KafkaTransport;
  before(async () => {
    await activateWasm();
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('serves an NCHW ONNX import with its own tensor names and ImageNet normalization: every mask equals ONNX Runtime run by hand', async () => {
    const root = tempDir('kafka-import');
    const { dir } = await importModel({ path: join(IMPORT_FIXTURES, 'unet_nchw.onnx'), name: 'byo', models: root, normalize: 'imagenet' });
    const { prefix, group, topics } = isolate('byo-onnx');
    const service = await StreamService.start({ model: dir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, maskSize: 'model', log: quiet });
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { logSeverityLevel: 3 });
    try {
      const n = 8;
      const frames = await Promise.all(Array.from({ length: n }, (_, i) => jpeg(i, 96 + (i % 2) * 32, 6)));
      await producer.send(frames.map((bytes, i) => frameRecord(topics.frames, `byo-${i}`, `sensor-${i % 2}`, bytes)));
      const results = await readTopic(topics.segmentations, { count: n, settleMs: 1000 });
      assert.equal(results.length, n, 'one result per frame');
      for (const r of results) {
        const msg = parseSegmentation(r.value.toString());
        assert.equal(msg.modelVersion, 'byo@1');
        const i = Number(msg.frameId.split('-')[1]);
        const unit = imageToInput(await decodeImage(frames[i]), 'imagenet');
        const nchw = nhwcToNchw((await unit.data()) as Float32Array, 1, 128, 128, 3);
        unit.dispose();
        const out = await session.run({ pixel_values: new ort.Tensor('float32', nchw, [1, 3, 128, 128]) });
        const logits = tf.tensor4d(out['Identity:0'].data as Float32Array, [1, 3, 128, 128]);
        const ids = tf.tidy(() => tf.argMax(tf.transpose(logits, [0, 2, 3, 1]), -1));
        const expected = Array.from(await ids.data());
        tf.dispose([logits, ids]);
        const mask = decodeMaskPng(fromBase64(msg.mask as string));
        assert.deepEqual([mask.width, mask.height], [128, 128]);
        assert.deepEqual(Array.from(mask.data), expected, `mask of ${msg.frameId}`);
      }
    } finally {
      await session.release();
      await service.stop();
    }
  });
});
