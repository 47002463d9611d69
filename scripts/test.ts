/**
 * Test runner: node's built-in runner with the tsx loader over explicit file lists (node 20's
 * `--test` takes no globs and collects only .js from directories).
 *
 *   tsx scripts/test.ts [unit] [integration] [e2e]      (no argument: all layers)
 *   tsx scripts/test.ts test/unit/metrics.test.ts       (single files)
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startBroker, stopBroker } from '../tools/dev_broker.js';
import { FAULT_TABLE_ENV, type FaultRow } from './fault_table.js';

const LAYERS = ['unit', 'integration', 'e2e'] as const;
const root = join(import.meta.dirname, '..');

function collect(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const args = process.argv.slice(2);
const layers = args.filter((a): a is (typeof LAYERS)[number] => (LAYERS as readonly string[]).includes(a));
const files = args.filter((a) => a.endsWith('.ts'));
for (const layer of files.length || layers.length ? layers : LAYERS) files.push(...collect(join(root, 'test', layer)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const reporter = process.env.TEST_REPORTER ?? 'spec';
// Node 20's test runner has no global setup: one Kafka broker serves the whole integration run
// (unless KAFKA_BROKERS points at one already); tests isolate themselves by topic prefix and group.
const needsKafka = files.some((f) => f.includes(`test/integration/kafka_`)) && !process.env.KAFKA_BROKERS;
const broker = needsKafka ? await startBroker({ recordState: false, dataDir: join(tmpdir(), `edgeseg-test-kafka-${process.pid}`) }) : null;
if (broker) console.log(`test broker: Kafka at ${broker.brokers} (pid ${broker.pid})`);
// Every fault suite appends its row here; the table is printed once the run ends.
const faultTable = join(tmpdir(), `edgeseg-test-faults-${process.pid}.jsonl`);
rmSync(faultTable, { force: true });
let status = 1;
try {
  // Asynchronous, so this process keeps reaping children (the broker) while the tests run.
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, ...files], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      EDGESEG_LOG_LEVEL: process.env.EDGESEG_LOG_LEVEL ?? 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      [FAULT_TABLE_ENV]: faultTable,
      ...(broker ? { KAFKA_BROKERS: broker.brokers, EDGESEG_TEST_BROKER_DATA: broker.dataDir, EDGESEG_TEST_BROKER_PID: String(broker.pid) } : {}),
    },
  });
  status = await new Promise<number>((done) => child.on('close', (code) => done(code ?? 1)));
} finally {
  printFaultTable(faultTable);
  if (broker) {
    const pid = Number(readFileSync(join(broker.dataDir, 'pid'), 'utf8'));
    await stopBroker({ pid });
    rmSync(broker.dataDir, { recursive: true, force: true });
  }
}
process.exit(status);

/** The fault suites' rows as one table (class → tried / refused / lost), or nothing when no fault suite ran. */
function printFaultTable(path: string): void {
  if (!existsSync(path)) return;
  const rows = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FaultRow);
  rmSync(path, { force: true });
  const width = Math.max(5, ...rows.map((r) => r.cls.length));
  const line = (c: string, a: string | number, b: string | number, d: string | number) => `  ${c.padEnd(width)}  ${String(a).padStart(5)}  ${String(b).padStart(7)}  ${String(d).padStart(4)}`;
  const sum = (k: 'tried' | 'refused' | 'lost') => rows.reduce((n, r) => n + r[k], 0);
  console.log(['fault table:', line('class', 'tried', 'refused', 'lost'), ...rows.map((r) => line(r.cls, r.tried, r.refused, r.lost)), line('total', sum('tried'), sum('refused'), sum('lost'))].join('\n'));
}
