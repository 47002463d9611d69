import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CARD_JSON, parseCard } from '../../core/index.js';
import { aliases, listModelNames, listVersions } from '../../converter/registry.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('the model registry');
  models
    .command('list')
    .description('versions of every model with precision, size, mIoU and aliases')
    .option('--models <dir>', 'registry root', 'models')
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
          console.log(`  ${v.padEnd(12)} ${card.precision.padEnd(6)} ${(card.bytes / 1024).toFixed(0).padStart(7)} KiB  mIoU ${miou.padStart(6)}  ${card.created.slice(0, 19)}${tags.length ? `  [${tags.join(', ')}]` : ''}`);
        }
      }
    });
}
