/**
 * The one interface runtime-node uses to talk to its message broker; kafka_transport.ts
 * implements it with kafkajs, so a different client replaces one file. Delivery semantics live
 * here: `PartitionBatch.commit` publishes the outputs of a run of records and moves the
 * partition's committed offset past the run's last record — acknowledged sends, then an offset commit
 * (at-least-once), or one transaction holding both (exactly-once).
 */

/**
 * SASL credentials for the brokers (edgeseg's own shape, so the Kafka client's types stay inside
 * kafka_transport.ts).
 */
export interface SaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

/** A consumed record. */
export interface InRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as strings (first value when repeated). */
  headers: Record<string, string>;
  /** Broker timestamp, ms since epoch, as a string. */
  timestamp: string;
}

/** A record to publish. */
export interface OutRecord {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

/** Records of one partition handed to the consumer's handler, with their commit. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: InRecord[];
  /** Records the broker holds beyond this batch (consumer lag after it). */
  lagAfter: number;
  /**
   * Publishes `outputs` and moves the partition's committed offset past `through` (that record and
   * every earlier one of this batch are done), atomically when exactly-once.
   */
  commit(through: InRecord, outputs: OutRecord[]): Promise<void>;
  /** Keeps group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked. */
  isActive(): boolean;
}

/** Consumer session timeout when none is given (ms); heartbeats then go every third of it. */
export const DEFAULT_SESSION_TIMEOUT_MS = 6000;
/** Consumer restarts after crashes before the consumer gives up. */
export const DEFAULT_MAX_RESTARTS = 5;

/** Consumer group, topics and delivery of Transport.consume. */
export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /** A new group starts at the earliest offset. @default true */
  fromBeginning?: boolean;
  /** @default DEFAULT_SESSION_TIMEOUT_MS (6000 ms) */
  sessionTimeoutMs?: number;
  /** @default a third of the session timeout */
  heartbeatIntervalMs?: number;
  /** Partitions processed at once. @default 1 */
  concurrency?: number;
  /** Only see committed transactional records. @default false */
  readCommitted?: boolean;
  /** Commit through transactions (needs a transactional transport). @default false */
  exactlyOnce?: boolean;
  /** Consumer restarts after a crash before giving up. @default DEFAULT_MAX_RESTARTS (5) */
  maxRestarts?: number;
}

/** A running consumer. */
export interface ConsumerHandle {
  /** Stops fetching these partitions' records (backpressure). */
  pause(): void;
  resume(): void;
  /** Finishes the batch in progress, commits, leaves the group. */
  stop(): Promise<void>;
  /** Settles when the consumer gives up (restarts exhausted or a non-retriable error). */
  readonly failed: Promise<Error>;
  assignedPartitions(): number;
}

/** The broker interface the stream service runs on (KafkaTransport in production). */
export interface Transport {
  connect(): Promise<void>;
  /** Creates missing topics with the given partition counts (existing ones are kept). */
  ensureTopics(topics: { topic: string; partitions: number }[]): Promise<void>;
  /** Sends and waits for acknowledgement by all in-sync replicas. */
  send(records: OutRecord[]): Promise<void>;
  consume(options: ConsumeOptions, handler: (batch: PartitionBatch) => Promise<void>): Promise<ConsumerHandle>;
  disconnect(): Promise<void>;
}
