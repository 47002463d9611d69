import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { HEADER } from '../../core/index.js';
import type { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { StreamService } from '../../runtime-node/stream/service.js';
import { startCli, waitForOutput } from '../helpers/cli.js';
import { jpeg, tempDir } from '../../bench/helpers/fixtures.js';
import { brokers, frameIdOf, frameRecord, isolate, readTopic, restartBroker, tinyModel, transport, type ReadRecord } from '../helpers/kafka.js';
import { quiet } from '../helpers/log.js';

const SENSORS = 6;

/** Frame `i` of sensor `s`: id `<tag>-<s>-<i>`, key `sensor-<s>`. */
function frames(topic: string, tag: string, from: number, to: number, bytes: Buffer[]) {
  const out = [];
  for (let i = from; i < to; i++) for (let s = 0; s < SENSORS; s++) out.push(frameRecord(topic, `${tag}-${s}-${i}`, `sensor-${s}`, bytes[(i + s) % bytes.length]));
  return out;
}

function ids(records: ReadRecord[]): string[] {
  return records.map((r) => r.headers[HEADER.frameId]);
}

/** Per sensor, the first result of each frame appears in frame order. */
function assertOrderPerSensor(records: ReadRecord[]): void {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))) {
    const id = r.headers[HEADER.frameId];
    if (seen.has(id)) continue;
    seen.add(id);
    const [, s, i] = id.split('-');
    assert.ok(Number(i) > (last.get(s) ?? -1), `sensor ${s}: frame ${i} after ${last.get(s)}`);
    last.set(s, Number(i));
  }
}

describe('runtime-node under faults (real broker)', () => {
  let modelDir: string;
  let producer: KafkaTransport;
  let bytes: Buffer[];

  before(async () => {
    modelDir = await tinyModel(join(tempDir('faults'), 'tiny', '1'), 2, '1');
    producer = transport();
    await producer.connect();
    bytes = await Promise.all(Array.from({ length: 8 }, (_, i) => jpeg(i, 96)));
  });
  after(async () => {
    await producer.disconnect();
  });

  const streamArgs = (prefix: string, group: string, extra: string[] = []) => [
    'stream', '--model', modelDir, '--brokers', brokers().join(','), '--group', group, '--topics-prefix', prefix, '--workers', '1', '--http-port', '0', '--no-watch', '--session-timeout', '6000', ...extra,
  ];

  it('loses no frame when the consumer is SIGKILLed mid-batch and restarted; duplicates stay within the uncommitted window', async () => {
    const { prefix, group, topics } = isolate('sigkill');
    const total = 60 * SENSORS;
    const first = startCli(streamArgs(prefix, group));
    await waitForOutput(first.child, /serving/);
    await producer.send(frames(topics.frames, 'k', 0, 60, bytes));
    // Kill once some, not all, results are out.
    const deadline = Date.now() + 60_000;
    let partial: ReadRecord[] = [];
    while (Date.now() < deadline) {
      partial = await readTopic(topics.segmentations, { count: 40, timeoutMs: 2000 });
      if (partial.length >= 40) break;
    }
    first.child.kill('SIGKILL');
    assert.equal((await first.done).signal, 'SIGKILL');
    assert.ok(partial.length >= 40 && partial.length < total, `killed mid-run (${partial.length}/${total} results)`);
    const second = startCli(streamArgs(prefix, group));
    await waitForOutput(second.child, /serving/);
    const results = await readTopic(topics.segmentations, { count: total, settleMs: 2000, timeoutMs: 90_000, distinct: frameIdOf });
    second.child.kill('SIGTERM');
    assert.equal((await second.done).code, 0, 'graceful stop on SIGTERM');
    const distinct = new Set(ids(results));
    assert.equal(distinct.size, total, 'every frame has a result');
    // A kill loses at most the runs in flight: one slice (16) per partition being processed (6).
    assert.ok(results.length - total <= 16 * SENSORS, `${results.length - total} duplicates`);
    assertOrderPerSensor(results);
  });

  it('loses no frame when the broker stops and restarts mid-stream', async () => {
    const { prefix, group, topics } = isolate('broker');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, log: quiet, maxRestarts: 20 });
    try {
      await producer.send(frames(topics.frames, 'b', 0, 20, bytes));
      await readTopic(topics.segmentations, { count: 20, timeoutMs: 30_000 });
      await restartBroker(3000);
      await producer.send(frames(topics.frames, 'b', 20, 40, bytes));
      const results = await readTopic(topics.segmentations, { count: 40 * SENSORS, settleMs: 1000, timeoutMs: 120_000, distinct: frameIdOf });
      assert.equal(new Set(ids(results)).size, 40 * SENSORS, 'every frame before, during and after the outage has a result');
      assertOrderPerSensor(results);
    } finally {
      await service.stop();
    }
  });

  it('rejoins its group after its thread stalls past the session timeout (the coordinator forgot the member) and loses no frame', async () => {
    const { prefix, group, topics } = isolate('stall');
    const service = await StreamService.start({ model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, log: quiet, sessionTimeoutMs: 6000 });
    const fatal: Error[] = [];
    service.on('fatal', (e) => fatal.push(e));
    try {
      await producer.send(frames(topics.frames, 's', 0, 5, bytes));
      await readTopic(topics.segmentations, { count: 5 * SENSORS, timeoutMs: 60_000 });
      // Stall this thread (heartbeats included) past the session while a run of frames is in
      // flight: its offset commit then meets a coordinator that has forgotten the member.
      await producer.send(frames(topics.frames, 's', 5, 25, bytes));
      await sleep(300);
      const until = Date.now() + 9000;
      while (Date.now() < until);
      await producer.send(frames(topics.frames, 's', 25, 30, bytes));
      const results = await readTopic(topics.segmentations, { count: 30 * SENSORS, settleMs: 1000, timeoutMs: 120_000, distinct: frameIdOf });
      assert.deepEqual(fatal, [], 'the service kept consuming');
      assert.equal(new Set(ids(results)).size, 30 * SENSORS, 'every frame before, during and after the stall has a result');
      assertOrderPerSensor(results);
    } finally {
      await service.stop();
    }
  });

  it('shares partitions between two instances of one group through rebalances, every frame processed, order per sensor kept', async () => {
    const { prefix, group, topics } = isolate('twins');
    const opts = { model: modelDir, brokers: brokers(), groupId: group, topicPrefix: prefix, workers: 1, httpPort: null, watchModels: false, log: quiet };
    const a = await StreamService.start({ ...opts, instanceId: 'a' });
    let b: StreamService | null = null;
    try {
      await producer.send(frames(topics.frames, 'r', 0, 15, bytes));
      b = await StreamService.start({ ...opts, instanceId: 'b' });
      await producer.send(frames(topics.frames, 'r', 15, 30, bytes));
      await sleep(3000);
      const shared = [a.health().detail.partitions, b.health().detail.partitions] as number[];
      assert.equal(shared[0] + shared[1], SENSORS, `the six partitions are split between the two (${shared})`);
      assert.ok(shared[0] > 0 && shared[1] > 0);
      await a.stop();
      await producer.send(frames(topics.frames, 'r', 30, 45, bytes));
      const results = await readTopic(topics.segmentations, { count: 45 * SENSORS, settleMs: 1000, timeoutMs: 90_000, distinct: frameIdOf });
      assert.equal(new Set(ids(results)).size, 45 * SENSORS);
      assertOrderPerSensor(results);
    } finally {
      await a.stop();
      await b?.stop();
    }
  });

  it('exactly-once: after a SIGKILL and restart, a read_committed consumer sees each frame once', async () => {
    const { prefix, group, topics } = isolate('eos');
    const total = 50 * SENSORS;
    const args = streamArgs(prefix, group, ['--exactly-once', '--instance-id', 'eos-1']);
    const first = startCli(args);
    await waitForOutput(first.child, /serving/);
    await producer.send(frames(topics.frames, 'x', 0, 50, bytes));
    await readTopic(topics.segmentations, { count: 40, timeoutMs: 60_000, readCommitted: true });
    first.child.kill('SIGKILL');
    await first.done;
    const second = startCli(args);
    await waitForOutput(second.child, /serving/);
    const committed = await readTopic(topics.segmentations, { count: total, settleMs: 3000, timeoutMs: 90_000, readCommitted: true });
    second.child.kill('SIGTERM');
    await second.done;
    assert.equal(committed.length, total, `read_committed sees ${committed.length} results for ${total} frames`);
    assert.equal(new Set(ids(committed)).size, total);
  });
});
