import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeMaskPng, fromBase64, HEADER, MODEL_EVENT_SCHEMA, parseSegmentation, type ModelEvent } from '../../core/index.js';
import { imageToInput } from '../../core/preprocess.js';
import { loadLayersModel } from '../../core/node/artifact_fs.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { modelDigest } from '../../core/node/registry.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, frameRecord, isolate, readTopic, tinyModel, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

const ROUNDS = 10;
const PER_ROUND = 12;
const SENSORS = 3;

describe('runtime-node hot swap under load (real broker)', () => {
  let producer: KafkaTransport;
  let root: string;

  before(async () => {
    await activateWasm();
    root = tempDir('swap');
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('swaps 10 times while frames flow: no frame dropped, each result made by the version it names, a corrupted model refused, memory flat', async () => {
    const { prefix, group, topics } = isolate('swap');
    // Four versions with different weights, so a mask tells which model produced it.
    const dirs = await Promise.all([1, 2, 3, 4].map((seed) => tinyModel(join(root, 'tiny', String(seed)), seed)));
    const corrupted = join(root, 'tiny', '9');
    cpSync(dirs[1], corrupted, { recursive: true });
    const shard = join(corrupted, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(shard, bytes);

    const images = await Promise.all(Array.from({ length: 6 }, (_, i) => jpeg(i, 112, 5)));
    const service = await StreamService.start({ model: dirs[0], brokers: brokers(), groupId: group, topicPrefix: prefix, instanceId: 'swap', workers: 1, httpPort: null, log: quiet });
    const refused: string[] = [];
    service.on('swapRefused', ({ dir }) => refused.push(dir));
    let baseline: { numTensors: number; rss: number } | null = null;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const records = Array.from({ length: PER_ROUND }, (_, i) => frameRecord(topics.frames, `hs-${round}-${i}`, `sensor-${i % SENSORS}`, images[(round + i) % images.length]));
        await producer.send(records);
        if (round === 0) {
          await readTopic(topics.segmentations, { count: PER_ROUND, timeoutMs: 60_000 });
          const [memory] = await service.workerMemory();
          baseline = { numTensors: memory.numTensors, rss: process.memoryUsage().rss };
        }
        const next = dirs[(round + 1) % dirs.length];
        if (round === 4) {
          // Through the models topic, as the closed loop announces a promotion.
          const event: ModelEvent = { schema: MODEL_EVENT_SCHEMA, name: 'tiny', version: '2', path: next, sha256: modelDigest(next), metrics: null, at: new Date().toISOString() };
          const swapped = once(service, 'swap', { signal: AbortSignal.timeout(30_000) });
          await producer.send([{ topic: topics.models, key: 'tiny', value: JSON.stringify(event), headers: {} }]);
          await swapped;
        } else if (round === 6) {
          const serving = service.modelVersion;
          assert.equal(await service.swap(corrupted), false, 'a corrupted model is refused');
          assert.equal(service.modelVersion, serving, 'the old model keeps serving');
        } else {
          assert.equal(await service.swap(next), true);
        }
      }
      const total = ROUNDS * PER_ROUND;
      const results = await readTopic(topics.segmentations, { count: total, settleMs: 1500, timeoutMs: 120_000 });
      const byId = new Map(results.map((r) => [r.headers[HEADER.frameId], parseSegmentation(r.value.toString())]));
      assert.equal(byId.size, total, 'every frame has a result');
      assert.deepEqual(refused, [corrupted]);
      const [memory] = await service.workerMemory();
      assert.equal(memory.models.length, 1, 'retired versions are unloaded from the worker');
      assert.equal(memory.numTensors, baseline!.numTensors, 'worker tensors flat across 10 swaps');
      const grown = (process.memoryUsage().rss - baseline!.rss) / 2 ** 20;
      assert.ok(grown < 96, `RSS grew ${grown.toFixed(0)} MiB over 10 swaps`);

      // Each mask equals the in-process prediction of the version the result names.
      const models = new Map(await Promise.all(dirs.map(async (d, i) => [`tiny@${i + 1}` as string, (await loadLayersModel(d)).model] as const)));
      const inputs = await Promise.all(images.map(async (b) => imageToInput(await decodeImage(b))));
      const reference = new Map<string, number[]>();
      for (const [id, msg] of byId) {
        const [, round, i] = id.split('-').map(Number);
        const image = (round + i) % images.length;
        const model = models.get(msg.modelVersion);
        assert.ok(model, `${id} names ${msg.modelVersion}`);
        const key = `${msg.modelVersion}/${image}`;
        if (!reference.has(key)) {
          const ids = tf.tidy(() => tf.argMax(model.predict(tf.expandDims(inputs[image])) as tf.Tensor, -1));
          reference.set(key, Array.from(await ids.data()));
          ids.dispose();
        }
        assert.deepEqual(Array.from(decodeMaskPng(fromBase64(msg.mask as string)).data), reference.get(key), `mask of ${id} is ${msg.modelVersion}'s`);
      }
      // Round 0 was read back before the first swap; later rounds race the swaps, by design.
      for (const [id, msg] of byId) if (id.startsWith('hs-0-')) assert.equal(msg.modelVersion, 'tiny@1');
      assert.ok(new Set([...byId.values()].map((m) => m.modelVersion)).size >= 2, 'frames were served by more than one version');
      tf.dispose(inputs);
      for (const m of models.values()) m.dispose();

    } finally {
      await service.stop();
    }
  });
});
