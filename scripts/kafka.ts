/**
 * `npm run kafka:*`: the dev broker's command (the broker itself is tools/dev_broker.ts).
 *
 *   tsx scripts/kafka.ts fetch            download the jars into .cache/kafka/lib (CI caches this)
 *   tsx scripts/kafka.ts start [--data <dir>] [--port <n>]
 *                                        start a broker; returns once it accepts connections; prints
 *                                        KAFKA_BROKERS=127.0.0.1:<port> last; state in .cache/kafka/broker.json
 *   tsx scripts/kafka.ts stop             stop the broker named in the state file
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_STATE_FILE } from '../runtime-node/transport/brokers.js';
import { cleanStaleData, fetchKafka, KAFKA_VERSION, readState, startBroker, stopBroker } from '../tools/dev_broker.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (command === 'fetch') {
    console.log(fetchKafka());
  } else if (command === 'start') {
    const running = readState();
    if (running) {
      console.log(`broker already running (pid ${running.pid})`);
      console.log(`KAFKA_BROKERS=${running.brokers}`);
      return;
    }
    cleanStaleData();
    const s = await startBroker({ dataDir: flag('data'), port: flag('port') ? Number(flag('port')) : undefined });
    console.log(`Kafka ${KAFKA_VERSION} running, pid ${s.pid}, data ${s.dataDir}, log ${s.log}`);
    console.log(`KAFKA_BROKERS=${s.brokers}`);
  } else if (command === 'stop') {
    const s = readState();
    if (!s) {
      console.log('no broker running');
    } else {
      await stopBroker(s);
      console.log(`stopped broker pid ${s.pid}`);
    }
    rmSync(BROKER_STATE_FILE, { force: true });
  } else {
    console.error('usage: tsx scripts/kafka.ts fetch | start [--data <dir>] [--port <n>] | stop');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
