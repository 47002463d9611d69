/**
 * `edgeseg data fetch oxford-pets`: the Oxford-IIIT Pet Dataset (Parkhi et al., "Cats and Dogs",
 * CVPR 2012; CC BY-SA 4.0) from its authors' two archives, laid out as `oxford:<dir>` reads it.
 *
 * Steps, each one skipped when an earlier run finished it: download an archive into
 * `<dir>/.fetch/<name>` (resumable, sizes checked), check its MD5 when it came from the official
 * URL, extract it through a staging directory, note it extracted (`<dir>/.fetch/<name>.done`) and
 * delete the archive; when both are extracted, write the completion marker
 * `<dir>/.edgeseg-dataset.json`. A run that finds the marker (and the two folders) does nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatasetFetchError } from '../../core/index.js';
import { parseJsonText } from '../../core/schemas.js';
import { withOsErrors } from '../../core/node/safe_read.js';
import { downloadResumable } from './download.js';
import { extractTarGz, moveIntoPlace } from './extract.js';

/** Where the authors publish the archives. */
export const OXFORD_PETS_URL = 'https://www.robots.ox.ac.uk/~vgg/data/pets/data/';

/** Default `--dir`, relative to the working directory (git-ignored in this repository). */
export const DEFAULT_OXFORD_PETS_DIR = join('.cache', 'datasets', 'oxford-iiit-pet');

/** Completion marker, written only after both archives extracted. */
export const COMPLETE_MARKER = '.edgeseg-dataset.json';

/**
 * The two archives with the MD5 and size of the official files (MD5s as pinned by torchvision,
 * pytorch/vision, torchvision/datasets/oxford_iiit_pet.py, `_RESOURCES`). They are checked only
 * for the official URL: a mirror may serve a different build of the same content. The size also
 * stops an official download that runs past it.
 */
export const OXFORD_PETS_ARCHIVES = [
  { name: 'images.tar.gz', md5: '5c4f3ee8e5d25df40f4fd59a7f44e54c', bytes: 791_918_971, provides: 'images' },
  { name: 'annotations.tar.gz', md5: '95a8c909bbe2e81eed6a22bccdf3f68f', bytes: 19_173_078, provides: 'annotations' },
] as const;

export type FetchEvent =
  | { type: 'skip'; archive: string; reason: string }
  | { type: 'download'; archive: string; received: number; total: number | null }
  | { type: 'retry'; archive: string; attempt: number; reason: string }
  | { type: 'verify'; archive: string }
  | { type: 'extract'; archive: string; bytesRead: number; total: number }
  | { type: 'extracted'; archive: string; entries: number };

export interface FetchOxfordPetsOptions {
  /** Target directory. @default DEFAULT_OXFORD_PETS_DIR */
  dir?: string;
  /** Base URL serving `images.tar.gz` and `annotations.tar.gz`. @default OXFORD_PETS_URL */
  mirror?: string;
  /** Keep the downloaded archives after extraction. @default false */
  keepArchives?: boolean;
  /** Download attempts per archive before DOWNLOAD_FAILED. @default 5 */
  attempts?: number;
  /** Wait before retry k is k × this, in ms. @default 500 */
  retryDelayMs?: number;
  onEvent?(e: FetchEvent): void;
}

export interface FetchOxfordPetsResult {
  dir: string;
  /** The dataset spec to pass to --data. */
  spec: string;
  /** True when a previous run had completed the dataset and nothing was done. */
  alreadyComplete: boolean;
}

interface Marker {
  dataset: 'oxford-iiit-pet';
  source: string;
  archives: { name: string; bytes: number; md5: string }[];
  completed: string;
}

const normalizeBase = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** The MD5 each archive must have when fetched from `base`: the pins for the official URL, none for a mirror. */
export function pinnedDigests(base: string): Record<string, string> | null {
  return normalizeBase(base) === OXFORD_PETS_URL ? Object.fromEntries(OXFORD_PETS_ARCHIVES.map((a) => [a.name, a.md5])) : null;
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether `dir` holds a dataset this command completed (marker plus both folders). */
export function isOxfordPetsComplete(dir: string): boolean {
  return existsSync(join(dir, COMPLETE_MARKER)) && OXFORD_PETS_ARCHIVES.every((a) => existsSync(join(dir, a.provides)));
}

export async function fetchOxfordPets(options: FetchOxfordPetsOptions = {}): Promise<FetchOxfordPetsResult> {
  const dir = resolve(options.dir ?? DEFAULT_OXFORD_PETS_DIR);
  const spec = `oxford:${dir}`;
  if (isOxfordPetsComplete(dir)) return { dir, spec, alreadyComplete: true };
  const base = normalizeBase(options.mirror ?? OXFORD_PETS_URL);
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new DatasetFetchError('DOWNLOAD_FAILED', `--mirror '${options.mirror}' is not a URL; give a base URL such as https://example.org/pets/`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new DatasetFetchError('DOWNLOAD_FAILED', `--mirror must be an http(s) URL, got '${base}'`);
  const pins = pinnedDigests(base);
  const work = join(dir, '.fetch');
  withOsErrors(dir, '--dir', () => mkdirSync(work, { recursive: true }));
  rmSync(join(dir, COMPLETE_MARKER), { force: true });
  const emit = options.onEvent ?? (() => {});
  const done: Marker['archives'] = [];
  for (const archive of OXFORD_PETS_ARCHIVES) {
    const doneFile = join(work, `${archive.name}.done`);
    if (existsSync(doneFile) && existsSync(join(dir, archive.provides))) {
      emit({ type: 'skip', archive: archive.name, reason: 'extracted by an earlier run' });
      done.push(parseJsonText(readFileSync(doneFile, 'utf8'), doneFile, (m) => new DatasetFetchError('ARCHIVE_CORRUPT', `${m}; delete it to extract ${archive.name} again`)) as Marker['archives'][number]);
      continue;
    }
    const file = join(work, archive.name);
    if (existsSync(file)) {
      emit({ type: 'skip', archive: archive.name, reason: 'downloaded by an earlier run' });
    } else {
      await downloadResumable(new URL(archive.name, base).href, file, {
        attempts: options.attempts,
        retryDelayMs: options.retryDelayMs,
        onProgress: (received, total) => emit({ type: 'download', archive: archive.name, received, total }),
        onRetry: (attempt, reason) => emit({ type: 'retry', archive: archive.name, attempt, reason }),
        ...(pins ? { maxBytes: archive.bytes } : {}),
      });
    }
    emit({ type: 'verify', archive: archive.name });
    const md5 = await md5Of(file);
    if (pins && md5 !== pins[archive.name]) {
      rmSync(file, { force: true });
      throw new DatasetFetchError('DIGEST_MISMATCH', `${archive.name} from ${base} has MD5 ${md5}, expected ${pins[archive.name]}; the file was removed, run again to download it afresh`);
    }
    const total = statSync(file).size;
    const staging = join(work, `${archive.provides}.staging`);
    let entries: number;
    try {
      ({ entries } = await extractTarGz(file, staging, { onProgress: (bytesRead) => emit({ type: 'extract', archive: archive.name, bytesRead, total }) }));
    } catch (err) {
      // A corrupt download is no use to resume: the next run fetches it again.
      rmSync(file, { force: true });
      throw err;
    }
    if (!existsSync(join(staging, archive.provides))) {
      rmSync(staging, { recursive: true, force: true });
      rmSync(file, { force: true });
      throw new DatasetFetchError('ARCHIVE_CORRUPT', `${archive.name} from ${base} has no ${archive.provides}/ folder at its top level; the file was removed`);
    }
    moveIntoPlace(staging, dir, [archive.provides]);
    const record = { name: archive.name, bytes: total, md5 };
    writeFileSync(doneFile, JSON.stringify(record));
    if (!options.keepArchives) rmSync(file, { force: true });
    emit({ type: 'extracted', archive: archive.name, entries });
    done.push(record);
  }
  const marker: Marker = { dataset: 'oxford-iiit-pet', source: base, archives: done, completed: new Date().toISOString() };
  writeFileSync(join(dir, COMPLETE_MARKER), JSON.stringify(marker, null, 2));
  return { dir, spec, alreadyComplete: false };
}
