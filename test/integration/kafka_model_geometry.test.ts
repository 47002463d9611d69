import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeMaskPng, decodeRle, encodeMaskPng, fromBase64, HEADER, parseLabelRequest, parseSegmentation, toBase64, type RleMask } from '../../core/index.js';
import { buildDriftReference } from '../../core/drift.js';
import { maxEntropy } from '../../core/postprocess.js';
import { imageToInputData } from '../../core/preprocess.js';
import { nchwToNhwc, nhwcToNchw } from '../../core/tensor_layout.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { importModel } from '../../converter/import/import_model.js';
import { parseLabelsOption } from '../../converter/import/labels.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, frameRecord, isolate, readTopic, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';
import { sizedOnnx } from '../helpers/sized_onnx.js';

const [HEIGHT, WIDTH, CLASSES] = [64, 96, 5];

describe('a model of its own size and class count streamed through Kafka', () => {
  let producer: KafkaTransport;
  let modelDir: string;
  before(async () => {
    await activateWasm();
    producer = transport();
    await producer.connect();
    const root = tempDir('kafka-geometry');
    const file = join(root, 'five.onnx');
    // NCHW, like a PyTorch export (the CLI test covers NHWC).
    writeFileSync(file, sizedOnnx({ height: HEIGHT, width: WIDTH, classes: CLASSES, layout: 'NCHW', inputName: 'x', outputName: 'y' }));
    ({ dir: modelDir } = await importModel({ path: file, name: 'five', models: root, normalize: 'symmetric', labels: ['a', 'b', 'c', 'd', 'e'] }));
  });
  after(async () => {
    await producer.disconnect();
  });

  it('publishes 96×64 masks with 5-entry class coverage, asks for labels on a ln 5 scale and stores 5-class labels', async () => {
    const { prefix, group, topics } = isolate('geometry');
    const store = tempDir('geometry-store');
    const service = await StreamService.start({
      model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, maskSize: 'model', log: quiet,
      // Every frame is unsure enough to ask for a label: the score says how unsure on the model's own scale.
      labelRequests: { store, entropyFraction: 0, maxPerMinute: 600 },
      feedback: { store },
    });
    const session = await ort.InferenceSession.create(readFileSync(join(modelDir, 'model.onnx')), { logSeverityLevel: 3 });
    try {
      const n = 4;
      const frames = await Promise.all(Array.from({ length: n }, (_, i) => jpeg(i, 80 + i * 24, 9)));
      await producer.send(frames.map((bytes, i) => frameRecord(topics.frames, `five-${i}`, `sensor-${i % 2}`, bytes)));
      const [results, requests] = await Promise.all([readTopic(topics.segmentations, { count: n, settleMs: 500 }), readTopic(topics.labelRequests, { count: n, settleMs: 500 })]);
      assert.equal(results.length, n, 'one result per frame');
      for (const r of results) {
        const msg = parseSegmentation(r.value.toString(), CLASSES);
        assert.equal(msg.modelVersion, 'five@1');
        assert.deepEqual([msg.width, msg.height], [WIDTH, HEIGHT]);
        assert.equal(msg.classCoverage.length, CLASSES);
        assert.ok(Math.abs(msg.classCoverage.reduce((a, b) => a + b, 0) - 1) < 1e-9);
        assert.ok(msg.entropy > 0 && msg.entropy <= maxEntropy(CLASSES));
        const i = Number(msg.frameId.split('-')[1]);
        const x = imageToInputData(await decodeImage(frames[i]), 'symmetric', { height: HEIGHT, width: WIDTH });
        const out = await session.run({ x: new ort.Tensor('float32', nhwcToNchw(x, 1, HEIGHT, WIDTH, 3), [1, 3, HEIGHT, WIDTH]) });
        const logits = nchwToNhwc(out.y.data as Float32Array, 1, CLASSES, HEIGHT, WIDTH);
        const expected = Array.from({ length: HEIGHT * WIDTH }, (_, p) => {
          let best = 0;
          for (let k = 1; k < CLASSES; k++) if (logits[p * CLASSES + k] > logits[p * CLASSES + best]) best = k;
          return best;
        });
        const mask = decodeMaskPng(fromBase64(msg.mask as string), {}, CLASSES);
        assert.deepEqual(Array.from(mask.data), expected, `mask of ${msg.frameId} = ONNX Runtime by hand`);
        for (let k = 0; k < CLASSES; k++) assert.equal(msg.classCoverage[k], expected.filter((c) => c === k).length / expected.length, `coverage of class ${k}`);
      }
      assert.equal(requests.length, n);
      for (const r of requests) {
        const request = parseLabelRequest(r.value.toString());
        const result = parseSegmentation(results.find((s) => s.headers[HEADER.frameId] === request.frameId)!.value.toString());
        assert.ok(Math.abs(request.score - result.entropy / Math.log(CLASSES)) < 1e-9, `score = entropy / ln 5 (${request.score})`);
      }
      const coverage = await service.metrics.registry.getSingleMetricAsString('edgeseg_arm_class_coverage');
      for (const name of ['a', 'e']) assert.match(coverage, new RegExp(`class="${name}"`), `coverage gauge of class ${name}`);

      // Labels: class 4 is one of the model's; class 5 is not.
      const fb = new FeedbackStore(store);
      const sizeOf = async (i: number) => {
        const img = await decodeImage(frames[i]);
        return { width: img.width, height: img.height };
      };
      const label = async (i: number, value: number) => {
        const { width, height } = await sizeOf(i);
        return { topic: topics.feedback, key: `five-${i}`, value: JSON.stringify({ frameId: `five-${i}`, mask: toBase64(encodeMaskPng({ data: new Uint8Array(width * height).fill(value), width, height })), source: 'kafka' }) };
      };
      await producer.send([await label(1, 5), await label(0, 4)]);
      const [dlq] = await Promise.all([readTopic(topics.dlq, { count: 1, settleMs: 500 })]);
      assert.equal(dlq.length, 1);
      assert.equal(dlq[0].headers[HEADER.errorCode], 'MASK_INVALID');
      assert.match(dlq[0].headers[HEADER.errorMessage], /value 5 at pixel 0 is not a class id \(0–4\)/);
      const deadline = Date.now() + 30_000;
      while (fb.latest() === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(fb.read().samples.map((s) => s.id), ['five-0'], 'the 5-class label is stored');
    } finally {
      await session.release();
      await service.stop();
    }
  });

  it('serves RLE masks at the frame size, and refuses a drift reference of another class count at start', async () => {
    const { prefix, group, topics } = isolate('geometry-rle');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, maskSize: 'frame', maskFormat: 'rle', log: quiet });
    try {
      await producer.send([frameRecord(topics.frames, 'rle-0', 'sensor-0', await jpeg(3, 120, 9))]);
      const [r] = await readTopic(topics.segmentations, { count: 1 });
      const msg = parseSegmentation(r.value.toString(), CLASSES);
      const mask = decodeRle(msg.mask as RleMask, CLASSES);
      assert.deepEqual([mask.width, mask.height], [120, 120]);
      assert.ok(mask.data.some((c) => c >= 3), 'classes beyond edgeseg\'s three in the RLE');
      assert.throws(() => decodeRle(msg.mask as RleMask), /class ids are 0–2/, 'a 3-class reader refuses it');
    } finally {
      await service.stop();
    }
    const three = buildDriftReference(
      Array.from({ length: 20 }, (_, i) => ({ channelMeans: [0.4, 0.4, 0.4], brightness: 0.4 + i / 100, classCoverage: [0.5, 0.3, 0.2], meanConfidence: 0.9 })),
      'tiny@1 on synthetic',
    );
    const other = isolate('geometry-drift');
    await assert.rejects(
      StreamService.start({ model: modelDir, brokers: brokers(), groupId: other.group, topicPrefix: other.prefix, workers: 1, httpPort: null, watchModels: false, log: quiet, drift: { reference: three } }),
      (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID' && /covers 3 classes, five@1 has 5; measure a reference for this model/.test((e as Error).message),
    );
  });

  it('streams real pets through the imported DeepLab teacher (513×513, 21 PASCAL classes): cats and dogs where the photos have them', async () => {
    const root = tempDir('kafka-deeplab');
    const labels = parseLabelsOption(join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt'));
    const { dir } = await importModel({ path: join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite'), name: 'deeplab', models: root, labels });
    const { prefix, group, topics } = isolate('deeplab');
    const service = await StreamService.start({ model: dir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, maskSize: 'model', log: quiet });
    try {
      const photos = { 'Bengal_1': 'cat', 'american_bulldog_10': 'dog' } as const;
      await producer.send(Object.keys(photos).map((name) => frameRecord(topics.frames, name, 'cam-1', readFileSync(join(PACKAGE_ROOT, 'data/oxford-pets-sample/images', `${name}.jpg`)))));
      const results = await readTopic(topics.segmentations, { count: 2, settleMs: 500, timeoutMs: 120_000 });
      assert.equal(results.length, 2);
      for (const r of results) {
        const msg = parseSegmentation(r.value.toString(), labels.length);
        assert.equal(msg.modelVersion, 'deeplab@1');
        assert.deepEqual([msg.width, msg.height], [513, 513]);
        assert.equal(msg.classCoverage.length, 21);
        const animal = photos[msg.frameId as keyof typeof photos];
        assert.ok(msg.classCoverage[labels.indexOf(animal)] > 0.05, `${msg.frameId}: ${animal} covers ${(100 * msg.classCoverage[labels.indexOf(animal)]).toFixed(1)}%`);
      }
    } finally {
      await service.stop();
    }
  });
});
