/**
 * The Transport over kafkajs. Offsets are committed by edgeseg, never automatically: after the
 * outputs of a run of records are acknowledged by the broker (at-least-once), or inside the
 * same transaction as those outputs (exactly-once: transactional producer + sendOffsets, so
 * read_committed consumers see each result once). Consumer crashes restart a bounded number of
 * times; after that `failed` settles and the service exits with the reason.
 */
import { Kafka, logLevel as kafkaLogLevel, Partitioners, type Consumer, type IHeaders, type KafkaMessage, type Producer, type SASLOptions } from 'kafkajs';
import { ConfigError, EdgesegError, type Logger } from '../../core/index.js';
import { DEFAULT_MAX_RESTARTS, DEFAULT_SESSION_TIMEOUT_MS, type ConsumeOptions, type ConsumerHandle, type InRecord, type OutRecord, type PartitionBatch, type SaslOptions, type Transport } from './transport.js';

/** Brokers, client id and security of a KafkaTransport. */
export interface KafkaTransportOptions {
  brokers: string[];
  /** @default 'edgeseg' */
  clientId?: string;
  /** TLS to the brokers. @default false */
  ssl?: boolean;
  sasl?: SaslOptions;
  /** Needed for exactly-once consumers; stable per instance so a restarted instance fences its predecessor. */
  transactionalId?: string;
  /** How long a broker may be unreachable before sends fail (kafkajs retry budget). @default 30000 (ms) */
  maxRetryTimeMs?: number;
  log?: Logger;
}

function kafkaSasl(s: SaslOptions): SASLOptions {
  const { username, password } = s;
  switch (s.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      throw new ConfigError(`sasl.mechanism must be plain, scram-sha-256 or scram-sha-512, got '${String((s as { mechanism: unknown }).mechanism)}'`);
  }
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

function toRecord(topic: string, partition: number, m: KafkaMessage): InRecord {
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, headers: headersOf(m.headers), timestamp: m.timestamp };
}

function byTopic(records: OutRecord[]): { topic: string; messages: { key: string | Buffer | null; value: string | Buffer; headers?: Record<string, string> }[] }[] {
  const map = new Map<string, { key: string | Buffer | null; value: string | Buffer; headers?: Record<string, string> }[]>();
  for (const r of records) {
    const list = map.get(r.topic) ?? [];
    list.push({ key: r.key, value: r.value, headers: r.headers });
    map.set(r.topic, list);
  }
  return [...map].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Bytes per produce request. A topic's `max.message.bytes` (1 MiB by default) bounds each
 * partition's record batch in a request, so many dead letters of one run sent at once could be
 * refused together although each fits; requests are cut below that, in order.
 */
const MAX_REQUEST_BYTES = 768 * 1024;

/** `records` cut into consecutive groups of at most `MAX_REQUEST_BYTES` (a larger record goes alone). */
function requests(records: OutRecord[]): OutRecord[][] {
  const out: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0) + Object.entries(r.headers ?? {}).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v) + 8, 0) + 64;
    if (current.length && size + bytes > MAX_REQUEST_BYTES) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length) out.push(current);
  return out;
}

/** The Transport on kafkajs: idempotent or transactional producer, consumer groups with restart on loss. */
export class KafkaTransport implements Transport {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private txProducer: Producer | null = null;
  private txChain: Promise<unknown> = Promise.resolve();
  private readonly consumers: Consumer[] = [];

  constructor(private readonly options: KafkaTransportOptions) {
    const log = options.log;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'edgeseg',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl && kafkaSasl(options.sasl),
      logLevel: kafkaLogLevel.WARN,
      retry: { initialRetryTime: 250, retries: 10, maxRetryTime: 5000 },
      // kafkajs logs retriable broker hiccups as errors; they are warnings until retries run out.
      logCreator: () => ({ level, log: entry }) => {
        const { message, ...fields } = entry;
        if (level <= kafkaLogLevel.WARN) log?.warn(String(message), { ...fields, kafkaLevel: level });
        else log?.debug(String(message), fields);
      },
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async ensureTopics(topics: { topic: string; partitions: number }[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length) {
        await admin.createTopics({ topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions })), waitForLeaders: true });
        this.options.log?.info('created topics', { topics: missing.map((t) => `${t.topic}(${t.partitions})`) });
      }
    } finally {
      await admin.disconnect();
    }
  }

  async send(records: OutRecord[]): Promise<void> {
    for (const group of requests(records)) await this.producer.sendBatch({ topicMessages: byTopic(group), acks: -1 });
  }

  private async transactional(): Promise<Producer> {
    if (!this.options.transactionalId) throw new EdgesegError('CONFIG_INVALID', 'exactly-once consumption needs a transactionalId');
    if (!this.txProducer) {
      this.txProducer = this.kafka.producer({ transactionalId: this.options.transactionalId, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await this.txProducer.connect();
    }
    return this.txProducer;
  }

  /** One transaction at a time per producer: commits from concurrent partitions are queued. */
  private inTransaction(body: (tx: Awaited<ReturnType<Producer['transaction']>>) => Promise<void>): Promise<void> {
    const run = this.txChain.then(async () => {
      const tx = await (await this.transactional()).transaction();
      try {
        await body(tx);
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => {});
        throw err;
      }
    });
    this.txChain = run.catch(() => {});
    return run;
  }

  async consume(options: ConsumeOptions, handler: (batch: PartitionBatch) => Promise<void>): Promise<ConsumerHandle> {
    const { groupId, topics, fromBeginning = true, sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS, concurrency = 1, readCommitted = false, exactlyOnce = false, maxRestarts = DEFAULT_MAX_RESTARTS } = options;
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.round(sessionTimeoutMs / 3);
    if (exactlyOnce) await this.transactional();
    let restarts = 0;
    let stopped = false;
    let paused = false;
    let fail!: (e: Error) => void;
    const failed = new Promise<Error>((resolve) => (fail = resolve));
    let assigned = 0;
    let consumer!: Consumer;

    const start = async (): Promise<void> => {
      const c = this.kafka.consumer({
        groupId,
        sessionTimeout: sessionTimeoutMs,
        heartbeatInterval: heartbeatIntervalMs,
        rebalanceTimeout: Math.max(sessionTimeoutMs * 2, 10_000),
        readUncommitted: !readCommitted,
        maxBytesPerPartition: 4 * 1024 * 1024,
        retry: {
          retries: 8,
          restartOnFailure: async (err) => {
            restarts++;
            this.options.log?.warn('consumer crashed; restarting', { group: groupId, restart: restarts, of: maxRestarts, error: err.message });
            if (restarts > maxRestarts) {
              fail(new EdgesegError('CONSUMER_FAILED', `consumer of ${topics.join(', ')} crashed ${restarts} times; last error: ${err.message}`, { cause: err }));
              return false;
            }
            return true;
          },
        },
      });
      consumer = c;
      c.on(c.events.CRASH, ({ payload }) => {
        if (payload.restart || stopped) return;
        // kafkajs gives up on some group errors (a member the coordinator forgot after a long
        // pause, a lost coordinator: kafkajs #1568, #1630): a fresh consumer rejoins the group.
        if (restarts >= maxRestarts) {
          fail(new EdgesegError('CONSUMER_FAILED', `consumer of ${topics.join(', ')} stopped: ${payload.error.message}`, { cause: payload.error }));
          return;
        }
        restarts++;
        this.options.log?.warn('consumer stopped; rejoining with a new consumer', { group: groupId, restart: restarts, of: maxRestarts, error: payload.error.message });
        if (this.consumers.includes(c)) this.consumers.splice(this.consumers.indexOf(c), 1);
        void c
          .disconnect()
          .catch(() => {})
          .then(() => (stopped ? undefined : start()))
          .catch((err: Error) => fail(new EdgesegError('CONSUMER_FAILED', `consumer of ${topics.join(', ')} could not rejoin: ${err.message}`, { cause: err })));
      });
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        assigned = Object.values(payload.memberAssignment).reduce((n, parts) => n + parts.length, 0);
        this.options.log?.info('joined group', { group: groupId, partitions: payload.memberAssignment });
      });
      await c.connect();
      await c.subscribe({ topics, fromBeginning });
      this.consumers.push(c);
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const { topic, partition } = batch;
          await handler({
            topic,
            partition,
            records: batch.messages.map((m) => toRecord(topic, partition, m)),
            lagAfter: Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1),
            heartbeat,
            isActive: () => isRunning() && !isStale(),
            commit: async (through, outputs) => {
              // Kafka's committed offset is the next record to read.
              const nextOffset = (BigInt(through.offset) + 1n).toString();
              if (exactlyOnce) {
                await this.inTransaction(async (tx) => {
                  for (const group of requests(outputs)) await tx.sendBatch({ topicMessages: byTopic(group), acks: -1 });
                  await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }] });
                });
              } else {
                await this.send(outputs);
                await c.commitOffsets([{ topic, partition, offset: nextOffset }]);
              }
              resolveOffset(through.offset);
            },
          });
        },
      });
      if (paused) c.pause(topics.map((topic) => ({ topic })));
    };
    await start();
    return {
      pause: () => {
        paused = true;
        consumer.pause(topics.map((topic) => ({ topic })));
      },
      resume: () => {
        paused = false;
        consumer.resume(topics.map((topic) => ({ topic })));
      },
      stop: async () => {
        stopped = true;
        await consumer.disconnect();
        const i = this.consumers.indexOf(consumer);
        if (i >= 0) this.consumers.splice(i, 1);
      },
      failed,
      assignedPartitions: () => assigned,
    };
  }

  async disconnect(): Promise<void> {
    await Promise.all(this.consumers.splice(0).map((c) => c.disconnect()));
    await this.producer.disconnect();
    await this.txProducer?.disconnect();
  }
}
