/** Where edgeseg commands find Kafka: `--brokers`, then `KAFKA_BROKERS`, then the dev broker's state file. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/index.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';

/** Jars, data directories and the state file of the dev broker (tools/dev_broker.ts): `EDGESEG_KAFKA_CACHE`, else `.cache/kafka` in the package's folder (a checkout's root). */
export const KAFKA_CACHE = process.env.EDGESEG_KAFKA_CACHE ?? join(PACKAGE_ROOT, '.cache', 'kafka');
/** The running dev broker's address and pid, written by tools/dev_broker.ts and read here when no broker is named. */
export const BROKER_STATE_FILE = join(KAFKA_CACHE, 'broker.json');

/** Kafka brokers (`host:port`) from a flag (comma-separated), else KAFKA_BROKERS, else the dev broker's state file; throws ConfigError when there are none or one is malformed. */
export function resolveBrokers(flag?: string): string[] {
  const text = flag ?? process.env.KAFKA_BROKERS ?? (existsSync(BROKER_STATE_FILE) ? (JSON.parse(readFileSync(BROKER_STATE_FILE, 'utf8')) as { brokers: string }).brokers : undefined);
  if (!text) throw new ConfigError('no Kafka brokers: pass --brokers host:port, set KAFKA_BROKERS, or run npm run kafka:start');
  const brokers = text.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) if (!/^[\w.-]+:\d+$/.test(b)) throw new ConfigError(`broker '${b}' must be host:port`);
  return brokers;
}
