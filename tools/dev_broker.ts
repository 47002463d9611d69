/**
 * The dev broker: a real Apache Kafka broker for development and tests, with no Docker and no
 * package — Kafka 3.9.x jars from Maven Central (`mvn dependency:copy-dependencies` on a tiny
 * pom), single-node KRaft storage (`kafka.tools.StorageTool format`), `kafka.Kafka` on 127.0.0.1
 * in the background. A started broker is recorded in the state file `.cache/kafka/broker.json`,
 * where runtime-node/transport/brokers.ts finds it. `npm run kafka:start|stop|fetch` (scripts/kafka.ts) is its command;
 * the test runner, `edgeseg loop --demo` and bench:stream start their own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EdgesegError } from '../core/index.js';
import { BROKER_STATE_FILE, KAFKA_CACHE } from '../runtime-node/transport/brokers.js';

export const KAFKA_VERSION = '3.9.2';
const LIB = join(KAFKA_CACHE, 'lib');

export interface BrokerState {
  pid: number;
  port: number;
  controllerPort: number;
  brokers: string;
  dataDir: string;
  log: string;
  started: string;
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.edgeseg</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/** Downloads the broker's jars from Maven Central (once; later calls reuse the cache). */
export function fetchKafka(): string {
  if (existsSync(join(LIB, `kafka_2.13-${KAFKA_VERSION}.jar`))) return LIB;
  mkdirSync(KAFKA_CACHE, { recursive: true });
  writeFileSync(join(KAFKA_CACHE, 'pom.xml'), POM);
  console.error(`fetching Apache Kafka ${KAFKA_VERSION} from Maven Central into ${LIB}`);
  try {
    execFileSync('mvn', ['-q', '-B', '-f', join(KAFKA_CACHE, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${LIB}`, '-DincludeScope=runtime'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new EdgesegError('BROKER_UNAVAILABLE', `could not fetch Kafka with Maven (is maven installed and Maven Central reachable?): ${(err as Error).message}`);
  }
  return LIB;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

/**
 * Whether a process runs. A zombie (exited, not yet reaped by a parent that is busy, such as the
 * test runner that started the broker) counts as gone: it holds no port and will never exit further.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

export function readState(): BrokerState | null {
  if (!existsSync(BROKER_STATE_FILE)) return null;
  const s = JSON.parse(readFileSync(BROKER_STATE_FILE, 'utf8')) as BrokerState;
  return alive(s.pid) ? s : null;
}

export interface StartOptions {
  /** Storage directory; reused (not re-formatted) when it holds a formatted log. @default a new dir under .cache/kafka */
  dataDir?: string;
  /** Broker port. @default a free port */
  port?: number;
  /** Controller (KRaft) port. @default a free port */
  controllerPort?: number;
  /** Write .cache/kafka/broker.json. @default true */
  recordState?: boolean;
  /** JVM heap. @default '512m' */
  heap?: string;
}

/** Starts a single-node KRaft broker on 127.0.0.1 and resolves once it accepts connections. */
export async function startBroker(options: StartOptions = {}): Promise<BrokerState> {
  fetchKafka();
  const port = options.port ?? (await freePort());
  const controllerPort = options.controllerPort ?? (await freePort());
  const dataDir = resolve(options.dataDir ?? join(KAFKA_CACHE, `data-${Date.now()}-${randomBytes(3).toString('hex')}`));
  mkdirSync(dataDir, { recursive: true });
  const props = join(dataDir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dataDir, 'logs')}`,
      // Single node: every internal topic has one replica.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=6',
      'group.initial.rebalance.delay.ms=0',
      // edgeseg creates its topics with the partition counts it needs.
      'auto.create.topics.enable=false',
      'num.partitions=1',
      'group.min.session.timeout.ms=1000',
      'log.retention.hours=24',
    ].join('\n') + '\n',
  );
  const cp = `${LIB}/*`;
  if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    execFileSync('java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const log = join(dataDir, 'broker.log');
  const fd = openSync(log, 'a');
  const child = spawn(
    'java',
    [`-Xmx${options.heap ?? '512m'}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', cp, 'kafka.Kafka', props],
    { detached: true, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    if (!alive(child.pid!)) throw new EdgesegError('BROKER_UNAVAILABLE', `the Kafka broker exited during start-up; see ${log}`);
    if (Date.now() > deadline) {
      process.kill(child.pid!, 'SIGKILL');
      throw new EdgesegError('BROKER_UNAVAILABLE', `the Kafka broker did not accept connections on 127.0.0.1:${port} within 60 s; see ${log}`);
    }
    await sleep(200);
  }
  writeFileSync(join(dataDir, 'pid'), String(child.pid));
  const state: BrokerState = { pid: child.pid!, port, controllerPort, brokers: `127.0.0.1:${port}`, dataDir, log, started: new Date().toISOString() };
  if (options.recordState ?? true) writeFileSync(BROKER_STATE_FILE, JSON.stringify(state, null, 2));
  return state;
}

/** Stops a broker (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
export async function stopBroker(state: Pick<BrokerState, 'pid'>, graceMs = 10_000): Promise<void> {
  if (!alive(state.pid)) return;
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(state.pid) && Date.now() < deadline) await sleep(100);
  if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
  while (alive(state.pid)) await sleep(50);
}

/** Removes data directories of brokers that are no longer running. */
export function cleanStaleData(): void {
  if (!existsSync(KAFKA_CACHE)) return;
  const live = readState()?.dataDir;
  for (const d of readdirSync(KAFKA_CACHE)) if (d.startsWith('data-') && join(KAFKA_CACHE, d) !== live) rmSync(join(KAFKA_CACHE, d), { recursive: true, force: true });
}
