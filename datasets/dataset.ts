/**
 * Opens a dataset spec: lists its samples, decodes and validates every one in the worker pool
 * (hashing files for the manifest), caches the preprocessed samples, and reports
 * `dataset: <n> valid, <m> skipped`, followed by the skip codes and the images that had to be
 * converted to RGB when there are any. Bad samples are skipped with a per-file warning; only a
 * dataset whose samples are all invalid fails (an empty split is the caller's to judge).
 */
import { createHash } from 'node:crypto';
import { ConfigError, DatasetError, INPUT_NORMALIZATIONS, type InputNormalization, type Logger, type ModelGeometry } from '../core/index.js';
import { DEFAULT_GEOMETRY, DEFAULT_NORMALIZATION, isInputNormalization } from '../core/contract.js';
import { formatDatasetSpecs, parseDatasetSpecs } from '../core/dataset_spec.js';
import { describeError } from '../core/errors.js';
import { normalizeInputData } from '../core/preprocess.js';
import { defaultPoolSize, WorkerPool } from '../core/node/worker_pool.js';
import { loadSample } from './load_sample.js';
import { SPLITS, type LoadedSample, type LoadRequest, type SampleRef, type Skip, type Split } from './sample_types.js';
import { listSources } from './sources/index.js';

/** What a dataset holds: its specs, sample ids per split and a hash of it all (written into the card). */
export interface DatasetManifest {
  spec: string;
  /** sha256 over every valid sample's id, split and file hashes, in id order. */
  hash: string;
  /** The same hash over each split alone (the held-out set's identity for eval cards). */
  splitHashes: Record<Split, string>;
  valid: number;
  skipped: number;
  samples: { id: string; split: Split; files: { path: string; sha256: string }[] }[];
}

/** A split of a dataset: sample refs and a loader. */
export interface SampleSet {
  readonly ids: readonly string[];
  readonly size: number;
  get(index: number): Promise<LoadedSample>;
}

/** A split, or `held-out`: the dataset's test split when its sources publish one, else val. */
export type SplitChoice = Split | 'held-out';

/** An opened dataset: its splits, manifest and skipped samples. */
export interface Dataset {
  spec: string;
  manifest: DatasetManifest;
  train: SampleSet;
  val: SampleSet;
  test: SampleSet;
  /** The set held-out metrics are measured on (eval's default, the card's metrics): `test` or `val`. */
  heldOut: SampleSet;
  heldOutSplit: 'test' | 'val';
  skipped: Skip[];
  /** Valid samples whose image was not plain RGB, by what was converted ('RGBA', 'GIF', …). */
  converted: Record<string, number>;
  close(): Promise<void>;
}

/** How a dataset is opened: decode workers, cache, split seed. */
export interface OpenDatasetOptions {
  /** Decode workers; 0 decodes on the calling thread. @default one per core, minus one */
  workers?: number;
  /** Keep preprocessed samples in memory after the scan, or decode again on every use. @default 'memory' */
  cache?: 'memory' | 'none';
  /** Only these splits are needed (others are listed, not decoded). @default ['train', 'val', 'test'] */
  splits?: SplitChoice[];
  log?: Logger;
  /** Called as samples are scanned (for progress bars). */
  onProgress?(done: number, total: number): void;
  /** Where the `dataset: …` line goes. @default console.log */
  print?(line: string): void;
  /**
   * The input normalization of the model the samples feed (read it from the model's card with
   * `normalizationOf`). Samples are decoded and cached as unit input; the sets hand them out
   * normalised. @default 'unit'
   */
  normalization?: InputNormalization;
  /**
   * The input size and class count of the model the samples feed (`geometryOf(card)`): images
   * and masks are resized to its height × width, mask values must be below its class count.
   * @default edgeseg's own U-Nets' (128×128, 3 classes)
   */
  geometry?: ModelGeometry;
}

/** Codes of SampleError: the sample is skipped. Any other error (a crashed pool) stops the scan. */
const SAMPLE_ERROR_CODES = new Set(['SAMPLE_UNREADABLE', 'SAMPLE_CORRUPT', 'MASK_MISMATCH', 'MASK_VALUES', 'PAIR_MISSING', 'PATH_OUTSIDE_ROOT']);

class Loader {
  private pool: WorkerPool<LoadRequest, LoadedSample> | null;
  constructor(
    workers: number,
    private readonly target: ModelGeometry,
  ) {
    this.pool = workers > 0 ? new WorkerPool<LoadRequest, LoadedSample>(new URL('./decode_worker.js', import.meta.url), workers) : null;
  }
  get parallelism(): number {
    return this.pool ? this.pool.size * 2 : 1;
  }
  load(ref: SampleRef): Promise<LoadedSample> {
    return this.pool ? this.pool.run({ ...ref, target: this.target }) : loadSample(ref, this.target);
  }
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}

function makeSet(refs: SampleRef[], cached: Map<string, LoadedSample> | null, loader: Loader, normalization: InputNormalization): SampleSet {
  return {
    ids: refs.map((r) => r.id),
    size: refs.length,
    async get(index: number) {
      const ref = refs[index];
      if (!ref) throw new RangeError(`sample index ${index} out of range (size ${refs.length})`);
      const sample = cached?.get(ref.id) ?? (await loader.load(ref));
      return normalization === 'unit' ? sample : { ...sample, image: normalizeInputData(sample.image, normalization) };
    },
  };
}

/** Opens a dataset spec (or several joined with `+`), checks every pair and prints `dataset: <n> valid, <m> skipped`. */
export async function openDataset(specText: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const specs = parseDatasetSpecs(specText);
  const canonical = formatDatasetSpecs(specs);
  const { cache = 'memory', log, onProgress, print = console.log, normalization = DEFAULT_NORMALIZATION, geometry = DEFAULT_GEOMETRY } = options;
  if (!isInputNormalization(normalization)) throw new ConfigError(`normalization '${normalization}' is not one of ${Object.keys(INPUT_NORMALIZATIONS).join('|')}`);
  const listing = listSources(specs);
  const heldOutSplit = heldOutSplitOf(listing.refs);
  const splits = (options.splits ?? SPLITS).map((s) => (s === 'held-out' ? heldOutSplit : s));
  const skipped = [...listing.skipped];
  const wanted = listing.refs.filter((r) => splits.includes(r.split));
  const loader = new Loader(options.workers ?? Math.min(wanted.length, defaultPoolSize()), geometry);
  const loaded = new Map<string, LoadedSample>();
  const validRefs: SampleRef[] = [];
  const manifestSamples: DatasetManifest['samples'] = [];
  const converted: Record<string, number> = {};
  try {
    let next = 0;
    let done = 0;
    const results: (LoadedSample | Skip)[] = new Array(wanted.length);
    const worker = async () => {
      while (next < wanted.length) {
        const i = next++;
        const ref = wanted[i];
        try {
          results[i] = await loader.load(ref);
        } catch (err) {
          const code = (err as { code?: string }).code ?? '';
          if (!SAMPLE_ERROR_CODES.has(code)) throw err;
          results[i] = { id: ref.id, path: ref.kind === 'file' ? ref.image : ref.id, code, reason: describeError(err) };
        }
        onProgress?.(++done, wanted.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(loader.parallelism, Math.max(1, wanted.length)) }, worker));
    results.forEach((r, i) => {
      if ('image' in r) {
        validRefs.push(wanted[i]);
        manifestSamples.push({ id: r.id, split: r.split, files: r.files });
        if (r.converted) converted[r.converted] = (converted[r.converted] ?? 0) + 1;
        if (cache === 'memory') loaded.set(r.id, r);
      } else {
        skipped.push(r);
      }
    });
  } catch (err) {
    await loader.close();
    throw err;
  }
  for (const s of skipped) log?.warn(`skipped ${s.path ?? s.id}`, { code: s.code, reason: s.reason });
  print(datasetLine(validRefs.length, skipped, converted));
  if (validRefs.length === 0 && wanted.length > 0) {
    await loader.close();
    throw new DatasetError('DATASET_EMPTY', `dataset ${canonical} has no valid sample (${skipped.length} skipped)`);
  }
  if (cache === 'memory') await loader.close();
  manifestSamples.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const hashOf = (samples: DatasetManifest['samples']) => {
    const hash = createHash('sha256');
    for (const s of samples) hash.update(`${s.id}\t${s.split}\t${s.files.map((f) => f.sha256).join(',')}\n`);
    return hash.digest('hex');
  };
  const cached = cache === 'memory' ? loaded : null;
  const sets = Object.fromEntries(SPLITS.map((split) => [split, makeSet(validRefs.filter((r) => r.split === split), cached, loader, normalization)])) as Record<Split, SampleSet>;
  return {
    spec: canonical,
    manifest: {
      spec: canonical,
      hash: hashOf(manifestSamples),
      splitHashes: Object.fromEntries(SPLITS.map((split) => [split, hashOf(manifestSamples.filter((s) => s.split === split))])) as Record<Split, string>,
      valid: validRefs.length,
      skipped: skipped.length,
      samples: manifestSamples,
    },
    ...sets,
    heldOut: sets[heldOutSplit],
    heldOutSplit,
    skipped,
    converted,
    close: () => loader.close(),
  };
}

/** `test` when any listed sample is in a test split (decoded or not, so the choice does not depend on which splits were asked for), else `val`. */
function heldOutSplitOf(refs: readonly SampleRef[]): 'test' | 'val' {
  return refs.some((r) => r.split === 'test') ? 'test' : 'val';
}

/** `dataset: 96 valid, 2 skipped (2 NOT_IN_SPLIT_LIST); converted to RGB: 1 RGBA`; the plain form when nothing was skipped or converted. */
export function datasetLine(valid: number, skipped: readonly Skip[], converted: Record<string, number>): string {
  const tally = (counts: Map<string, number>) => [...counts].map(([what, n]) => `${n} ${what}`).join(', ');
  const codes = new Map<string, number>();
  for (const s of skipped) codes.set(s.code, (codes.get(s.code) ?? 0) + 1);
  let line = `dataset: ${valid} valid, ${skipped.length} skipped`;
  if (codes.size) line += ` (${tally(codes)})`;
  if (Object.keys(converted).length) line += `; converted to RGB: ${tally(new Map(Object.entries(converted)))}`;
  return line;
}
