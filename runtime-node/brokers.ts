/** Where edgeseg commands find Kafka: `--brokers`, then `KAFKA_BROKERS`, then the dev broker's state file. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/index.js';

/** State file written by `npm run kafka:start` (scripts/kafka.ts). */
export const BROKER_STATE_FILE = process.env.EDGESEG_KAFKA_CACHE
  ? join(process.env.EDGESEG_KAFKA_CACHE, 'broker.json')
  : fileURLToPath(new URL('../.cache/kafka/broker.json', import.meta.url));

export function resolveBrokers(flag?: string): string[] {
  const text = flag ?? process.env.KAFKA_BROKERS ?? (existsSync(BROKER_STATE_FILE) ? (JSON.parse(readFileSync(BROKER_STATE_FILE, 'utf8')) as { brokers: string }).brokers : undefined);
  if (!text) throw new ConfigError('no Kafka brokers: pass --brokers host:port, set KAFKA_BROKERS, or run npm run kafka:start');
  const brokers = text.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) if (!/^[\w.-]+:\d+$/.test(b)) throw new ConfigError(`broker '${b}' must be host:port`);
  return brokers;
}
