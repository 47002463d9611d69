import type { Command } from 'commander';
import { ConfigError, DEFAULT_TOPIC_PREFIX, topicNames } from '../../core/index.js';
import { resolveBrokers } from '../../runtime-node/transport/brokers.js';
import { produceFrames } from '../../tools/frame_producer.js';
import { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { DEFAULT_FRAME_PARTITIONS } from '../../runtime-node/stream/options.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { ProgressBar } from '../progress.js';
import { saslFrom } from './stream.js';

interface ProduceFlags extends GlobalOptions {
  source: string;
  sensors: number;
  fps: number;
  count: number;
  duration: number;
  format: 'jpeg' | 'raw';
  size?: string;
  brokers?: string;
  topicsPrefix: string;
  partitions: number;
  idPrefix: string;
  ssl?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
}

export function registerProduce(program: Command): void {
  program
    .command('produce')
    .description('publish camera-like frames from a dataset to Kafka (demos and load)')
    .requiredOption('--source <spec>', 'dataset spec, e.g. synthetic:count=100,size=128')
    .option('--sensors <n>', 'sensors (record keys)', numberOption('sensors', 1, true), 4)
    .option('--fps <n>', 'frames per second per sensor (0 = unthrottled)', numberOption('fps', 0), 10)
    .option('--count <n>', 'frames in total', numberOption('count', 1, true), 100)
    .option('--duration <s>', 'stop after this long', numberOption('duration', 1), 3600)
    .option('--format <f>', 'jpeg | raw', 'jpeg')
    .option('--size <WxH>', 'resize frames, e.g. 640x480')
    .option('--brokers <list>', 'host:port[,…]')
    .option('--topics-prefix <p>', 'topic name prefix', DEFAULT_TOPIC_PREFIX)
    .option('--partitions <n>', 'partitions of the frames topic when created', numberOption('partitions', 1, true), DEFAULT_FRAME_PARTITIONS)
    .option('--id-prefix <p>', 'frame id prefix', 'f')
    .option('--ssl', 'TLS to the brokers')
    .option('--sasl-mechanism <m>', 'plain | scram-sha-256 | scram-sha-512')
    .option('--sasl-username <u>', 'SASL user')
    .action(async (flags: ProduceFlags, cmd: Command) => {
      const log = cliLogger('produce', cmd.optsWithGlobals());
      if (flags.format !== 'jpeg' && flags.format !== 'raw') throw new ConfigError(`--format must be jpeg or raw, got '${flags.format}'`);
      let size: [number, number] | undefined;
      if (flags.size) {
        const m = /^(\d+)x(\d+)$/.exec(flags.size);
        if (!m) throw new ConfigError(`--size must be WxH, e.g. 640x480, got '${flags.size}'`);
        size = [Number(m[1]), Number(m[2])];
      }
      const topics = topicNames(flags.topicsPrefix);
      const transport = new KafkaTransport({ brokers: resolveBrokers(flags.brokers), ssl: flags.ssl, sasl: saslFrom(flags), clientId: 'edgeseg-produce', log: log.child('kafka') });
      await transport.connect();
      try {
        await transport.ensureTopics([{ topic: topics.frames, partitions: flags.partitions }]);
        const bar = new ProgressBar({ label: 'produce', total: flags.count });
        const sent = await produceFrames(transport, {
          topic: topics.frames,
          source: flags.source,
          sensors: flags.sensors,
          fps: flags.fps,
          count: flags.count,
          durationSec: flags.duration,
          format: flags.format,
          size,
          idPrefix: flags.idPrefix,
          onProgress: (n) => bar.update(n),
        });
        bar.done();
        console.log(`sent ${sent} frames to ${topics.frames}`);
      } finally {
        await transport.disconnect();
      }
    });
}
