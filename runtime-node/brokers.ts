/** Where edgeseg commands find Kafka: `--brokers`, then `KAFKA_BROKERS`, then the dev broker's state file. */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../core/index.js';
import { BROKER_STATE_FILE } from './dev_broker.js';

/** Kafka brokers (`host:port`) from a flag (comma-separated), else KAFKA_BROKERS, else the dev broker's state file; throws ConfigError when there are none or one is malformed. */
export function resolveBrokers(flag?: string): string[] {
  const text = flag ?? process.env.KAFKA_BROKERS ?? (existsSync(BROKER_STATE_FILE) ? (JSON.parse(readFileSync(BROKER_STATE_FILE, 'utf8')) as { brokers: string }).brokers : undefined);
  if (!text) throw new ConfigError('no Kafka brokers: pass --brokers host:port, set KAFKA_BROKERS, or run npm run kafka:start');
  const brokers = text.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) if (!/^[\w.-]+:\d+$/.test(b)) throw new ConfigError(`broker '${b}' must be host:port`);
  return brokers;
}
