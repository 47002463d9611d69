import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CARD_JSON, ConfigError, parseCard, DEFAULT_TOPIC_PREFIX } from '../../core/index.js';
import { aliases, aliasHistory, gcVersions, listModelNames, listVersions, parseModelName, parseModelRef, DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';
import { readRollout, setCanaryWeight } from '../../core/node/rollout.js';
import { topicNames } from '../../core/index.js';
import { resolveBrokers } from '../../runtime-node/transport/brokers.js';
import { KafkaTransport } from '../../runtime-node/transport/kafka_transport.js';
import { promote, rollback, type Publisher } from '../../runtime-node/loop/promotion.js';
import { readGateReport } from '../../runtime-node/loop/gate.js';
import { beginCanary, finishCanary } from '../../runtime-node/loop/rollout_moves.js';
import { formatEvidence } from '../rollout_status.js';
import { numberOption } from '../context.js';

/** Runs `body` with a models-topic publisher when --brokers was given. */
async function withPublisher<T>(flags: { brokers?: string; topicsPrefix: string }, body: (p: Publisher | undefined) => Promise<T>): Promise<T> {
  if (!flags.brokers) return body(undefined);
  const transport = new KafkaTransport({ brokers: resolveBrokers(flags.brokers), clientId: 'edgeseg-models' });
  await transport.connect();
  try {
    return await body({ transport, topics: topicNames(flags.topicsPrefix) });
  } finally {
    await transport.disconnect();
  }
}


export function registerModels(program: Command): void {
  const models = program.command('models').description('the model registry');
  models
    .command('list')
    .description('versions of every model with precision, size, mIoU and aliases')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .action((flags: { models: string }) => {
      const names = listModelNames(flags.models);
      if (names.length === 0) {
        console.log(`no models in ${flags.models}`);
        return;
      }
      for (const name of names) {
        const al = aliases(flags.models, name);
        console.log(name);
        for (const v of listVersions(flags.models, name)) {
          const path = join(flags.models, name, v, CARD_JSON);
          if (!existsSync(path)) continue;
          const card = parseCard(readFileSync(path, 'utf8'), path);
          const tags = Object.entries(al).filter(([, ver]) => ver === v).map(([a]) => a);
          const miou = card.metrics ? `${(100 * card.metrics.miou).toFixed(1)}%` : 'n/a';
          const gate = readGateReport(flags.models, name, v);
          const verdict = gate ? `  gate: ${gate.decision === 'accept' ? 'accepted' : `refused (${gate.reasons[0]})`}` : '';
          console.log(`  ${v.padEnd(12)} ${card.precision.padEnd(6)} ${(card.bytes / 1024).toFixed(0).padStart(7)} KiB  mIoU ${miou.padStart(6)}  ${card.created.slice(0, 19)}${tags.length ? `  [${tags.join(', ')}]` : ''}${verdict}`);
        }
      }
    });
  const publishFlags = (c: Command) =>
    c
      .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
      .option('--brokers <list>', 'announce on the models topic (host:port[,…]) so stream services hot-swap')
      .option('--topics-prefix <p>', 'topic name prefix', DEFAULT_TOPIC_PREFIX);
  publishFlags(
    models
      .command('promote')
      .description('make <name>@<version> the champion (refuses a version the gate refused unless --force)')
      .argument('<ref>', '<name>@<version>')
      .option('--force', 'promote even when its gate report refused it'),
  ).action(async (ref: string, flags: { models: string; brokers?: string; topicsPrefix: string; force?: boolean }) => {
    const { name, version } = parseModelRef(ref);
    const gate = readGateReport(flags.models, name, version);
    if (gate?.decision === 'refuse' && !flags.force) throw new ConfigError(`${ref} was refused by its gate (${gate.reasons.join('; ')}); pass --force to promote it anyway`);
    const rollout = readRollout(flags.models, name);
    if (rollout) {
      if (rollout.canary !== version) throw new ConfigError(`${name} has a canary in progress (${rollout.canary}); promote ${name}@${rollout.canary} or end it with 'models abort ${name}' first`);
      await withPublisher(flags, (publisher) => finishCanary(flags.models, name, 'promoted', 'manual promote', { publisher }));
      console.log(`promoted ${name}@${version} (canary ended at ${rollout.weight}%)${flags.brokers ? ' (announced)' : ''}`);
      return;
    }
    await withPublisher(flags, (publisher) => promote(flags.models, name, version, { publisher, reason: flags.force ? 'manual promote (--force)' : 'manual promote' }));
    console.log(`promoted ${name}@${version}${flags.brokers ? ' (announced)' : ''}`);
  });
  publishFlags(models.command('rollback').description('move the champion back to the version it held before').argument('<name>', 'model name')).action(
    async (name: string, flags: { models: string; brokers?: string; topicsPrefix: string }) => {
      parseModelName(name);
      // During a rollout, rolling back means the canary: the champion never moved.
      const rollout = readRollout(flags.models, name);
      if (rollout) {
        await withPublisher(flags, (publisher) => finishCanary(flags.models, name, 'rolled back', 'manual rollback', { publisher }));
        console.log(`rolled back ${name}@${rollout.canary}: manual rollback; champion stays ${rollout.champion}`);
        return;
      }
      const r = await withPublisher(flags, (publisher) => rollback(flags.models, name, { publisher }));
      console.log(`rolled back ${name}: champion ${r.from} → ${r.to}${flags.brokers ? ' (announced)' : ''}`);
    },
  );
  publishFlags(
    models
      .command('canary')
      .description('serve <name>@<version> to a share of sensors and browsers beside the champion (or change the share of the canary in progress)')
      .argument('<ref>', '<name>@<version>')
      .option('--weight <percent>', 'share of keys on the canary, 0–100', numberOption('weight', 0), 5)
      .option('--force', 'start even when its gate report refused it'),
  ).action(async (ref: string, flags: { models: string; brokers?: string; topicsPrefix: string; weight: number; force?: boolean }) => {
    const { name, version } = parseModelRef(ref);
    const gate = readGateReport(flags.models, name, version);
    if (gate?.decision === 'refuse' && !flags.force) throw new ConfigError(`${ref} was refused by its gate (${gate.reasons.join('; ')}); pass --force to start a canary anyway`);
    const current = readRollout(flags.models, name);
    if (current?.canary === version) {
      await setCanaryWeight(flags.models, name, flags.weight, 'manual');
    } else {
      await withPublisher(flags, (publisher) => beginCanary(flags.models, name, version, flags.weight, { publisher, reason: 'manual canary' }));
    }
    console.log(`canary ${name}@${version} ${flags.weight}%`);
  });
  publishFlags(models.command('abort').description('end the canary in progress by hand; the champion stays').argument('<name>', 'model name')).action(
    async (name: string, flags: { models: string; brokers?: string; topicsPrefix: string }) => {
      parseModelName(name);
      const r = await withPublisher(flags, (publisher) => finishCanary(flags.models, name, 'aborted', 'aborted by hand', { publisher }));
      console.log(`aborted canary ${name}@${r.canary}; champion stays ${r.champion}`);
    },
  );
  models
    .command('status')
    .description('aliases, the rollout in progress with its evidence so far, and the last alias moves')
    .argument('<name>', 'model name')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--history <n>', 'alias moves to show', numberOption('history', 0, true), 5)
    .action((name: string, flags: { models: string; history: number }) => {
      parseModelName(name);
      if (!listModelNames(flags.models).includes(name)) throw new ConfigError(`no model ${name} in ${flags.models}`);
      const al = aliases(flags.models, name);
      console.log(`${name}: ${Object.entries(al).map(([a, v]) => `${a} ${v}`).join(', ') || 'no aliases'}`);
      const r = readRollout(flags.models, name);
      if (!r) console.log('rollout: none');
      else {
        console.log(`rollout: canary ${r.canary} at ${r.weight}% beside champion ${r.champion}, since ${r.startedAt}`);
        for (const line of formatEvidence(r.evidence)) console.log(`  ${line}`);
      }
      const moves = aliasHistory(flags.models, name).slice(-flags.history);
      if (moves.length) console.log('history:');
      for (const m of moves) console.log(`  ${m.at.slice(0, 19)}  ${m.alias}: ${m.from ?? '-'} → ${m.to ?? '-'}${m.reason ? `  (${m.reason})` : ''}`);
    });
  models
    .command('gc')
    .description('delete versions no alias names and that are not among the newest trained ones')
    .argument('<name>', 'model name')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--keep <n>', 'newest trained versions (and alias moves) to keep', numberOption('keep', 1, true), 3)
    .option('--dry-run', 'list what would be deleted')
    .action(async (name: string, flags: { models: string; keep: number; dryRun?: boolean }) => {
      const doomed = await gcVersions(flags.models, name, { keep: flags.keep, dryRun: flags.dryRun });
      console.log(doomed.length ? `${flags.dryRun ? 'would delete' : 'deleted'} ${name}: ${doomed.join(', ')}` : `nothing to delete for ${name}`);
    });
}
