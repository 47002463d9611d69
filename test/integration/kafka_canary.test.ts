import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLASS_BACKGROUND, decodeMaskPng, encodeMaskPng, fromBase64, HEADER, parseSegmentation, toBase64, type SegmentationMessage } from '../../core/index.js';
import { ARM_REPORT_SCHEMA, armOf, type ArmReport } from '../../core/rollout.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { aliases, aliasHistory, setAlias } from '../../core/node/registry.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { CanaryJudge } from '../../runtime-node/loop/canary.js';
import { beginCanary } from '../../runtime-node/loop/rollout_moves.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, frameRecord, isolate, readTopic, tinyModel, transport } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

const SENSORS = 40;
const SIZE = 96;

describe('canary rollout on the stream service (real broker)', () => {
  let producer: KafkaTransport;
  let root: string;
  let images: Buffer[];

  before(async () => {
    await activateWasm();
    root = tempDir('canary');
    // Three versions with different weights, so a mask tells which one made it.
    await Promise.all(['1', '2', '3'].map((v) => tinyModel(join(root, 'models', 'tiny', v), Number(v), v)));
    await setAlias(join(root, 'models'), 'tiny', 'champion', '1');
    images = await Promise.all(Array.from({ length: 4 }, (_, i) => jpeg(i, SIZE, 3)));
    producer = transport();
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
  });

  it('routes sensors stickily to the canary from the first frame, measures each arm (metrics, reports, labels), and promotes then rolls back on the judge without losing or repeating a frame', async () => {
    const { prefix, group, topics } = isolate('canary');
    const models = join(root, 'models');
    const store = join(root, 'feedback');
    const publisher = { transport: producer, topics };
    // A canary at 30 % before the service starts: it is loaded before the first frame, so no sensor starts on the wrong arm.
    // (No announcement: the service creates the topics.)
    await beginCanary(models, 'tiny', '2', 30);
    const service = await StreamService.start({
      model: 'tiny@champion',
      models,
      brokers: brokers(),
      groupId: group,
      topicPrefix: prefix,
      instanceId: 'canary',
      workers: 1,
      framePartitions: 3,
      // Every frame is kept for labelling, so a label can be sent for any of them.
      labelRequests: { store, entropyFraction: 0, maxPerMinute: 1_000_000 },
      feedback: { store },
      armReportMs: 300,
      log: quiet,
    });
    let sent = 0;
    const send = async (phase: string) => {
      const records = Array.from({ length: SENSORS }, (_, s) => frameRecord(topics.frames, `${phase}-${s}`, `sensor-${s}`, images[s % images.length]));
      await producer.send(records);
      sent += records.length;
    };
    const results = async (count: number) => {
      const read = await readTopic(topics.segmentations, { count, settleMs: 500, timeoutMs: 120_000 });
      return new Map(read.map((r) => [r.headers[HEADER.frameId], parseSegmentation(r.value.toString())]));
    };
    try {
      assert.deepEqual(service.canary, { version: 'tiny@2', weight: 30 });
      await send('a');
      await send('b');
      const first = await results(sent);
      const onCanary = Array.from({ length: SENSORS }, (_, s) => armOf(`sensor-${s}`, 30, 'tiny@2') === 'canary');
      for (let s = 0; s < SENSORS; s++) {
        const want = onCanary[s] ? 'tiny@2' : 'tiny@1';
        assert.deepEqual([first.get(`a-${s}`)?.modelVersion, first.get(`b-${s}`)?.modelVersion], [want, want], `sensor-${s} is served by ${want} both times`);
      }
      const canaryFrames = 2 * onCanary.filter(Boolean).length;
      assert.ok(canaryFrames > 0 && canaryFrames < 2 * SENSORS, 'both arms serve some sensors');

      // Per-arm metrics on /metrics.
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const counted = (arm: string, version: string) => Number(new RegExp(`^edgeseg_arm_frames_total\\{arm="${arm}",version="${version}"\\} (\\d+)`, 'm').exec(text)?.[1]);
      assert.equal(counted('canary', 'tiny@2'), canaryFrames);
      assert.equal(counted('champion', 'tiny@1'), 2 * SENSORS - canaryFrames);
      for (const name of ['edgeseg_arm_inference_seconds_count', 'edgeseg_arm_mean_confidence', 'edgeseg_arm_class_coverage']) assert.match(text, new RegExp(`^${name}\\{arm="canary"`, 'm'));

      // Labels for phase a: all background. Each arm's agreement is the background share of its own masks.
      const truth = encodeMaskPng({ data: new Uint8Array(SIZE * SIZE).fill(CLASS_BACKGROUND), width: SIZE, height: SIZE });
      await producer.send(Array.from({ length: SENSORS }, (_, s) => ({ topic: topics.feedback, key: `a-${s}`, value: JSON.stringify({ frameId: `a-${s}`, mask: toBase64(truth), source: 'test' }) })));
      const background = (ms: (SegmentationMessage | undefined)[]) => {
        let bg = 0;
        let all = 0;
        for (const m of ms) {
          const mask = decodeMaskPng(fromBase64(m!.mask as string));
          for (const c of mask.data) bg += c === CLASS_BACKGROUND ? 1 : 0;
          all += mask.data.length;
        }
        return bg / all;
      };
      let evidence = service.rolloutEvidence()!;
      for (let i = 0; i < 300 && evidence.champion.labels + evidence.canary.labels < SENSORS; i++) {
        await new Promise((r) => setTimeout(r, 100));
        evidence = service.rolloutEvidence()!;
      }
      assert.deepEqual([evidence.champion.labels, evidence.canary.labels], [SENSORS - canaryFrames / 2, canaryFrames / 2]);
      const masksOf = (canary: boolean) => onCanary.flatMap((c, s) => (c === canary ? [first.get(`a-${s}`)] : []));
      assert.ok(Math.abs(evidence.canary.labelAgreement! - background(masksOf(true))) < 1e-9);
      assert.ok(Math.abs(evidence.champion.labelAgreement! - background(masksOf(false))) < 1e-9);

      // Periodic per-arm reports on edgeseg.events.
      const events = await readTopic(topics.events, { count: 1, timeoutMs: 30_000 });
      const report = events.map((r) => JSON.parse(r.value.toString()) as ArmReport).find((r) => r.schema === ARM_REPORT_SCHEMA);
      assert.ok(report && report.weight === 30 && report.canary.version === 'tiny@2' && report.champion.version === 'tiny@1');

      // Automatic promotion while frames flow: the judge finds the canary not worse (a wide budget).
      await send('c');
      const promoteJudge = new CanaryJudge({ models, name: 'tiny', evidence: () => service.rolloutEvidence(), rules: { minLabels: 1, minFrames: 1, maxRegression: 1, latencyFactor: 1e6 }, publisher, log: quiet });
      let changed = once(service, 'canary', { signal: AbortSignal.timeout(30_000) });
      const promoted = await promoteJudge.check();
      assert.equal(promoted?.outcome, 'promoted');
      await changed;
      assert.equal(service.modelVersion, 'tiny@2');
      assert.equal(aliases(models, 'tiny').champion, '2');
      await send('d');

      // A second canary, rolled back at once by the latency rule (any canary p95 exceeds 0.001 × the champion's).
      changed = once(service, 'canary', { signal: AbortSignal.timeout(30_000) });
      await beginCanary(models, 'tiny', '3', 50, { publisher });
      await changed;
      await send('e');
      await results(sent);
      const rollbackJudge = new CanaryJudge({ models, name: 'tiny', evidence: () => service.rolloutEvidence(), rules: { minLatencyFrames: 1, latencyFactor: 0.001 }, publisher, log: quiet });
      changed = once(service, 'canary', { signal: AbortSignal.timeout(30_000) });
      const rolledBack = await rollbackJudge.check();
      assert.equal(rolledBack?.outcome, 'rolled back');
      assert.match(rolledBack!.reason, /latency p95 .* is over 0.001 × the champion's/);
      await changed;
      await send('f');

      // Every frame has exactly one result through start, promotion and rollback.
      const all = await readTopic(topics.segmentations, { count: sent, settleMs: 1500, timeoutMs: 120_000 });
      const ids = all.map((r) => r.headers[HEADER.frameId]);
      assert.equal(new Set(ids).size, sent, 'no frame lost');
      assert.equal(ids.length, sent, 'no frame served twice');
      const byId = new Map(all.map((r) => [r.headers[HEADER.frameId], parseSegmentation(r.value.toString())]));
      for (let s = 0; s < SENSORS; s++) {
        assert.equal(byId.get(`e-${s}`)!.modelVersion, armOf(`sensor-${s}`, 50, 'tiny@3') === 'canary' ? 'tiny@3' : 'tiny@2');
        assert.equal(byId.get(`f-${s}`)!.modelVersion, 'tiny@2', 'after the rollback the champion serves every sensor');
      }
      console.log(`canary: ${sent} frames through start, promote, second start and rollback: ${new Set(ids).size} distinct results, ${ids.length - new Set(ids).size} repeated`);
      assert.deepEqual(
        aliasHistory(models, 'tiny').map((m) => `${m.alias} ${m.from ?? '-'}→${m.to ?? '-'}`),
        ['champion -→1', 'canary -→2', 'champion 1→2', 'canary 2→-', 'canary -→3', 'canary 3→-'],
      );
    } finally {
      await service.stop();
    }
  });
});
