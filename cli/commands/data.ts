import type { Command } from 'commander';
import { ConfigError } from '../../core/index.js';
import { DEFAULT_OXFORD_PETS_DIR, fetchOxfordPets, OXFORD_PETS_URL, type FetchEvent } from '../../datasets/fetch/oxford_pets.js';
import { ProgressBar } from '../progress.js';

const DATASETS = ['oxford-pets'] as const;
const MIB = 1 << 20;

interface FetchFlags {
  dir: string;
  mirror?: string;
  keepArchives?: boolean;
}

/** Bytes as MiB with one decimal, so a finished stage reads `n/n MiB`. */
const mib = (bytes: number) => Math.round((10 * bytes) / MIB) / 10;

/** One progress bar per archive and stage, sized in MiB. */
function progressPrinter(): { onEvent(e: FetchEvent): void; close(): void } {
  let bar: ProgressBar | null = null;
  let key = '';
  const show = (k: string, label: string, done: number, total: number) => {
    if (k !== key) {
      bar?.done();
      bar = new ProgressBar({ label, total: mib(total) });
      key = k;
    }
    bar!.update(mib(done), 'MiB');
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'download':
          show(`download ${e.archive}`, `download ${e.archive}`, e.received, e.total ?? e.received);
          break;
        case 'extract':
          show(`extract ${e.archive}`, `extract ${e.archive}`, e.bytesRead, e.total);
          break;
        case 'retry':
          bar?.done();
          key = '';
          console.error(`${e.archive}: attempt ${e.attempt - 1} stopped (${e.reason}); resuming`);
          break;
        case 'skip':
          console.log(`${e.archive}: ${e.reason}`);
          break;
        case 'extracted':
          bar?.done();
          key = '';
          console.log(`${e.archive}: extracted ${e.entries} entries`);
          break;
        case 'verify':
          break;
      }
    },
    close: () => bar?.done(),
  };
}

export function registerData(program: Command): void {
  const data = program.command('data').description('datasets edgeseg can fetch for you');
  data
    .command('fetch')
    .description(`download and extract a dataset (${DATASETS.join(', ')}), resuming an interrupted download; prints the --data spec to use`)
    .argument('<dataset>', DATASETS.join(' | '))
    .option('--dir <dir>', 'where the dataset goes', DEFAULT_OXFORD_PETS_DIR)
    .option('--mirror <base-url>', `a base URL serving images.tar.gz and annotations.tar.gz instead of ${OXFORD_PETS_URL} (MD5s are checked only for the official URL)`)
    .option('--keep-archives', 'keep the downloaded .tar.gz files after extraction')
    .action(async (dataset: string, flags: FetchFlags) => {
      if (!(DATASETS as readonly string[]).includes(dataset)) throw new ConfigError(`unknown dataset '${dataset}'; edgeseg can fetch: ${DATASETS.join(', ')}`);
      const progress = progressPrinter();
      const result = await fetchOxfordPets({ dir: flags.dir, mirror: flags.mirror, keepArchives: flags.keepArchives, onEvent: progress.onEvent }).finally(progress.close);
      console.log(result.alreadyComplete ? `${result.dir} is already complete; nothing to do` : `Oxford-IIIT Pet is in ${result.dir}`);
      console.log('Oxford-IIIT Pet Dataset: O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar, "Cats and Dogs", CVPR 2012; CC BY-SA 4.0');
      console.log(`dataset spec: ${result.spec}`);
    });
}
