/** Helpers for tests against the real broker the test runner starts (KAFKA_BROKERS). */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { topicNames, type Topics } from '../../core/index.js';
import { startBroker, stopBroker } from '../../tools/dev_broker.js';
import { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { seededModel } from '../../bench/helpers/models.js';

export function brokers(): string[] {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error('KAFKA_BROKERS is not set: run integration tests through `npm run test:integration`, which starts a broker');
  return b.split(',');
}

/** Topic prefix and group unique to one test, so tests share a broker without seeing each other. */
export function isolate(name: string): { prefix: string; group: string; topics: Topics } {
  const id = `${name}-${randomBytes(3).toString('hex')}`;
  const prefix = `t.${id}.`;
  return { prefix, group: `g.${id}`, topics: topicNames(prefix) };
}

export function transport(): KafkaTransport {
  return new KafkaTransport({ brokers: brokers(), clientId: 'edgeseg-test' });
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

function headers(h: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]));
}

/** The frame id of a result or dead letter: with `distinct`, at-least-once duplicates count once. */
export const frameIdOf = (r: ReadRecord): string => r.headers['frame-id'];

/**
 * Reads a topic from the beginning until `count` records arrived (then `settleMs` more, to catch
 * extras) or `timeoutMs` passed. With `distinct`, `count` is of distinct keys: at-least-once
 * delivery repeats records after a rejoin or restart, and counting those would stop the read
 * before the frames still being processed arrive.
 */
export async function readTopic(topic: string, o: { count: number; timeoutMs?: number; settleMs?: number; readCommitted?: boolean; distinct?: (r: ReadRecord) => string }): Promise<ReadRecord[]> {
  const kafka = new Kafka({ brokers: brokers(), clientId: 'edgeseg-test-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(4).toString('hex')}`, readUncommitted: !o.readCommitted, sessionTimeout: 6000, heartbeatInterval: 2000 });
  const out: ReadRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value ?? Buffer.alloc(0), headers: headers(message.headers) });
    },
  });
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  const seen = () => (o.distinct ? new Set(out.map(o.distinct)).size : out.length);
  while (seen() < o.count && Date.now() < deadline) await sleep(100);
  if (o.settleMs) await sleep(o.settleMs);
  await consumer.disconnect();
  return out;
}

/** An untrained unet-small (base 4, depth 2) with seeded weights, written as a model directory. */
export function tinyModel(dir: string, seed: number, version = String(seed)): Promise<string> {
  return seededModel(dir, { name: 'tiny', version, seed, config: { baseFilters: 4, depth: 2 } });
}

/** Stops the shared test broker for `downMs` and starts it again on the same ports and storage. */
export async function restartBroker(downMs: number): Promise<void> {
  const dataDir = process.env.EDGESEG_TEST_BROKER_DATA;
  if (!dataDir) throw new Error('no test broker to restart (EDGESEG_TEST_BROKER_DATA is unset)');
  const props = readFileSync(join(dataDir, 'server.properties'), 'utf8');
  const port = Number(/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/m.exec(props)![1]);
  const controllerPort = Number(/CONTROLLER:\/\/127\.0\.0\.1:(\d+)/.exec(props)![1]);
  await stopBroker({ pid: Number(readFileSync(join(dataDir, 'pid'), 'utf8')) });
  await sleep(downMs);
  await startBroker({ dataDir, port, controllerPort, recordState: false });
}

/** A frame record with the edgeseg.frame.v1 headers (override or drop any with `headers`). */
export function frameRecord(topic: string, frameId: string, sensorId: string | null, bytes: Buffer, contentType = 'image/jpeg', headers: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = { schema: 'edgeseg.frame.v1', 'frame-id': frameId, 'content-type': contentType, 'captured-at': new Date().toISOString(), ...headers };
  return { topic, key: sensorId, value: bytes, headers: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string> };
}
