/**
 * bench:stream — runtime-node against a real Kafka broker (the running dev broker, KAFKA_BROKERS,
 * or one it starts and stops itself). Frames are produced before the clock starts, so the
 * consumer side is measured alone. Measures, in one run:
 *   - throughput (frames/s) with 1 vs 2 inference workers, 128×128 JPEG frames;
 *   - batch 1 vs micro-batched (max 4, 2 ms) on the same backend;
 *   - frame size: 128² raw RGB vs 640×480 JPEG;
 *   - end-to-end latency p50/p99 (capture → publish) at 50% and 90% of the best throughput.
 * Ends with `2 workers / 1 worker: <x>x`. Writes bench/out/stream.json and stream.md.
 *
 *   npm run bench:stream [-- --frames 240]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createLogger, parseSegmentation, topicNames } from '../core/index.js';
import { percentile } from '../core/metrics.js';
import { KafkaTransport } from '../runtime-node/transport/kafka_transport.js';
import { produceFrames, type ProduceOptions } from '../tools/frame_producer.js';
import { StreamService } from '../runtime-node/stream/service.js';
import type { StreamOptions } from '../runtime-node/stream/options.js';
import { readState, startBroker, stopBroker } from '../tools/dev_broker.js';
import { BENCH_MODEL, gflopOf, seededModel } from './helpers/models.js';
import { BENCH_OUT, benchOut } from './helpers/smoke.js';
import { convert } from '../converter/convert.js';
import { Kafka, logLevel } from 'kafkajs';

const { values: args } = parseArgs({ options: { frames: { type: 'string', default: '240' }, 'latency-seconds': { type: 'string', default: '10' } } });
const FRAMES = Number(args.frames);
const LATENCY_SECONDS = Number(args['latency-seconds']);
const SENSORS = 6;
const SOURCE = 'synthetic:count=48,size=128,seed=1';
const log = createLogger('bench', { level: 'warn' });

// The 0.92 GFLOP unet-small of every benchmark; throughput does not depend on trained weights.
const modelDir = join(tmpdir(), `edgeseg-bench-stream-${process.pid}`, 'bench', '1');
const gflop = gflopOf('unet-small', BENCH_MODEL);
await seededModel(modelDir, { name: 'bench', version: '1', seed: 1, config: BENCH_MODEL });
// The same weights folded and exported to ONNX beside the folded tfjs model: the engine comparison.
const folded = await convert({ model: modelDir, precision: 'fp32', format: 'both', models: join(modelDir, '..', '..'), force: true, log, onProgress: () => {} });

const running = process.env.KAFKA_BROKERS ?? readState()?.brokers;
const own = running ? null : await startBroker({ recordState: false, dataDir: join(tmpdir(), `edgeseg-bench-kafka-${process.pid}`) });
const brokers = (running ?? own!.brokers).split(',');
console.log(`broker: ${brokers.join(',')}${own ? ' (started for this run)' : ''}`);
console.log(`model: unet-small base 16 depth 4, ${gflop.toFixed(3)} GFLOP/frame, tfjs-wasm; ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`);
const producer = new KafkaTransport({ brokers, clientId: 'edgeseg-bench' });
await producer.connect();

let runId = 0;
async function produce(topic: string, o: Omit<ProduceOptions, 'topic' | 'source'>): Promise<void> {
  await produceFrames(producer, { topic, source: SOURCE, sensors: SENSORS, ...o });
}

async function framesOut(service: StreamService): Promise<number> {
  return (await service.metrics.framesOut.get()).values[0]?.value ?? 0;
}

interface ThroughputRow {
  case: string;
  workers: number;
  maxBatch: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
}

/** Pre-produces `FRAMES` frames, then times a fresh group from its first to its last result. */
async function throughput(name: string, service: Partial<StreamOptions>, frames: Omit<ProduceOptions, 'topic' | 'source'>): Promise<ThroughputRow> {
  const prefix = `bench.${process.pid}.${++runId}.`;
  const topics = topicNames(prefix);
  // The service creates the topics with 6 frame partitions; produce after that.
  const warm = await StreamService.start({ model: modelDir, brokers, groupId: `warm-${prefix}`, topicPrefix: prefix, httpPort: null, watchModels: false, log, engine: 'tfjs', ...service });
  await warm.stop();
  await produce(topics.frames, { ...frames, fps: 0, count: FRAMES });
  const s = await StreamService.start({ model: modelDir, brokers, groupId: `bench-${prefix}`, topicPrefix: prefix, httpPort: null, watchModels: false, log, engine: 'tfjs', ...service });
  // The clock starts when the service is ready (model loaded and warm in every worker).
  const t0 = performance.now();
  const deadline = Date.now() + 600_000;
  while ((await framesOut(s)) < FRAMES && Date.now() < deadline) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  const done = await framesOut(s);
  await s.stop();
  const row = { case: name, workers: service.workers ?? 1, maxBatch: service.maxBatch ?? 1, frames: done, seconds, framesPerSecond: done / seconds };
  console.log(`  ${name}: ${row.framesPerSecond.toFixed(1)} frames/s (${done} frames in ${seconds.toFixed(1)} s)`);
  return row;
}

interface LatencyRow {
  load: string;
  offeredFps: number;
  frames: number;
  p50Ms: number;
  p99Ms: number;
}

/** Paces frames at `fps` in total into a running service and reads back capture → publish latency. */
async function latency(load: string, fps: number, service: Partial<StreamOptions>): Promise<LatencyRow> {
  const prefix = `bench.${process.pid}.${++runId}.`;
  const topics = topicNames(prefix);
  const s = await StreamService.start({ model: modelDir, brokers, groupId: `bench-${prefix}`, topicPrefix: prefix, httpPort: null, watchModels: false, log, ...service });
  const count = Math.max(SENSORS, Math.round(fps * LATENCY_SECONDS));
  await produce(topics.frames, { fps: fps / SENSORS, count });
  const deadline = Date.now() + 120_000;
  while ((await framesOut(s)) < count && Date.now() < deadline) await sleep(20);
  await s.stop();
  const latencies: number[] = [];
  const kafka = new Kafka({ brokers, clientId: 'edgeseg-bench-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${prefix}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.segmentations], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void latencies.push(parseSegmentation(message.value!.toString()).latencyMs) });
  const readDeadline = Date.now() + 60_000;
  while (latencies.length < count && Date.now() < readDeadline) await sleep(50);
  await consumer.disconnect();
  const row = { load, offeredFps: fps, frames: latencies.length, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
  console.log(`  latency at ${load} (${fps.toFixed(1)} frames/s): p50 ${row.p50Ms.toFixed(0)} ms, p99 ${row.p99Ms.toFixed(0)} ms`);
  return row;
}

const rows: ThroughputRow[] = [];
const latencyRows: LatencyRow[] = [];
try {
  console.log(`throughput, ${FRAMES} pre-produced frames per case:`);
  rows.push(await throughput('128² JPEG, 1 worker', { workers: 1 }, {}));
  rows.push(await throughput('128² JPEG, 2 workers', { workers: 2 }, {}));
  rows.push(await throughput('128² JPEG, 2 workers, batch ≤ 4 / 2 ms', { workers: 2, maxBatch: 4, maxWaitMs: 2 }, {}));
  rows.push(await throughput('128² raw RGB8, 2 workers', { workers: 2 }, { format: 'raw' }));
  rows.push(await throughput('640×480 JPEG, 2 workers', { workers: 2 }, { size: [640, 480] }));
  // Engines on the same folded weights (index 5 and 6).
  rows.push(await throughput('128² JPEG, 2 workers, folded, tfjs-wasm engine', { workers: 2, model: folded.dir, engine: 'tfjs' }, {}));
  rows.push(await throughput('128² JPEG, 2 workers, folded, ONNX Runtime engine', { workers: 2, model: folded.dir, engine: 'ort' }, {}));
  const best = rows[1].framesPerSecond;
  console.log('end-to-end latency, 2 workers:');
  latencyRows.push(await latency('50% of max', 0.5 * best, { workers: 2 }));
  latencyRows.push(await latency('90% of max', 0.9 * best, { workers: 2 }));
} finally {
  await producer.disconnect();
  if (own) await stopBroker(own);
}

const scaling = rows[1].framesPerSecond / rows[0].framesPerSecond;
const batching = rows[2].framesPerSecond / rows[1].framesPerSecond;
const size = rows[4].framesPerSecond / rows[3].framesPerSecond;
const engines = rows[6].framesPerSecond / rows[5].framesPerSecond;
const machine = `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`;
const table = [
  '| case | workers | max batch | frames | seconds | frames/s |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.case} | ${r.workers} | ${r.maxBatch} | ${r.frames} | ${r.seconds.toFixed(1)} | ${r.framesPerSecond.toFixed(1)} |`),
].join('\n');
const latencyTable = [
  '| load | offered frames/s | frames | p50 ms | p99 ms |',
  '|---|---|---|---|---|',
  ...latencyRows.map((r) => `| ${r.load} | ${r.offeredFps.toFixed(1)} | ${r.frames} | ${r.p50Ms.toFixed(0)} | ${r.p99Ms.toFixed(0)} |`),
].join('\n');
const notes = [
  `batched / batch 1 (2 workers, tfjs-wasm): ${batching.toFixed(2)}x — no GPU backend here, where batching pays`,
  `640×480 JPEG / 128² raw: ${size.toFixed(2)}x`,
  `ONNX Runtime / tfjs-wasm engine, end to end through Kafka (2 workers, same folded weights): ${engines.toFixed(2)}x`,
];
console.log(`\n${table}\n\n${latencyTable}\n`);
for (const n of notes) console.log(n);
mkdirSync(BENCH_OUT, { recursive: true });
const result = { bench: 'stream', machine, model: { name: 'unet-small', baseFilters: 16, depth: 4, gflopPerFrame: gflop, backend: 'wasm' }, rows, latency: latencyRows, ratios: { workers2over1: scaling, batchedOverBatch1: batching, vga_jpegOverRaw128: size, ortOverTfjsWasm: engines }, measured: new Date().toISOString() };
writeFileSync(benchOut('stream.json'), JSON.stringify(result, null, 2));
writeFileSync(
  benchOut('stream.md'),
  `# Streaming throughput and latency\n\nruntime-node, unet-small base 16 depth 4 (${gflop.toFixed(3)} GFLOP/frame) on tfjs-wasm, real Kafka ${brokers.join(',')}, ${machine}, measured ${result.measured}. ${FRAMES} frames pre-produced per throughput case over ${SENSORS} sensors.\n\n${table}\n\n${latencyTable}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n**2 workers / 1 worker: ${scaling.toFixed(2)}x** (same run)\n`,
);
console.log(`2 workers / 1 worker: ${scaling.toFixed(2)}x`);
console.log(`stream ort/tfjs-wasm: ${engines.toFixed(2)}x`);
