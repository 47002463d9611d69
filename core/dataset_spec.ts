/**
 * Dataset specs, one syntax everywhere in the CLI:
 *
 * | spec | source |
 * |---|---|
 * | `synthetic:count=N,size=S,seed=K[,shift=0\|1][,smooth=0\|1]` | procedural pets-like scenes (core/synthetic.ts) |
 * | `oxford:<dir>` | Oxford-IIIT Pet layout: `images/*.jpg`, `annotations/trimaps/*.png`, optional `annotations/trainval.txt` / `test.txt` |
 * | `folder:<images dir>:<masks dir>` | image files paired by base name with class-id PNG masks |
 * | `feedback:<dir>[@<version>]` | a feedback store (latest version unless one is named) |
 *
 * Specs join with `+` into one dataset (`synthetic:count=400,seed=1+feedback:feedback`): the
 * retraining loop's base data plus its labels. Each sample keeps its own source's split.
 *
 * A spec may end in `*W`, its sampling weight in the training split (`oxford:pets*3+oxford:teacher`):
 * each epoch sees its training samples W times (the whole part of W as repeats, the fraction as a
 * seeded subset), so a small set of real labels is not drowned by a large set of teacher labels.
 * Validation and test samples are never repeated. @default 1
 */
import { DatasetError } from './errors.js';
import { SYNTHETIC_DEFAULTS } from './synthetic.js';

/** A parsed dataset spec: synthetic, oxford, folder or feedback. */
export type DatasetSpec = (
  | { kind: 'synthetic'; count: number; size: number; seed: number; shift: number; smooth: number }
  | { kind: 'oxford'; dir: string }
  | { kind: 'folder'; imagesDir: string; masksDir: string }
  | { kind: 'feedback'; dir: string; version?: number }
) & {
  /** Sampling weight of the source's training split (`*W` in the text). @default 1 */
  weight?: number;
};

/** Largest sampling weight a spec may carry (a typo such as `*100` would repeat a set a hundredfold). */
export const MAX_SPEC_WEIGHT = 20;

const WEIGHT_SUFFIX = /\*(\d+(?:\.\d+)?)$/;

const USAGE =
  'expected one of synthetic:count=N,size=S,seed=K | oxford:<dir> | folder:<images dir>:<masks dir> | feedback:<dir>[@<version>]';

function fail(spec: string, why: string): never {
  throw new DatasetError('DATASET_SPEC_INVALID', `dataset spec '${spec}': ${why}; ${USAGE}`);
}

/** Parses one dataset spec (`synthetic:count=N,size=S,seed=K`, `oxford:<dir>`, `folder:<images>:<masks>`, `feedback:<dir>[@version]`); throws ConfigError naming the problem. */
export function parseDatasetSpec(spec: string): DatasetSpec {
  if (typeof spec !== 'string' || spec.length === 0) fail(String(spec), 'empty');
  const weighted = WEIGHT_SUFFIX.exec(spec);
  if (weighted) {
    const weight = Number(weighted[1]);
    if (!(weight > 0) || weight > MAX_SPEC_WEIGHT) fail(spec, `weight *${weighted[1]} must be above 0 and at most ${MAX_SPEC_WEIGHT}`);
    const parsed = parseDatasetSpec(spec.slice(0, weighted.index));
    return weight === 1 ? parsed : { ...parsed, weight };
  }
  const colon = spec.indexOf(':');
  if (colon < 0) fail(spec, 'missing the source kind');
  const kind = spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  switch (kind) {
    case 'synthetic': {
      const params: Record<string, number> = { count: NaN, size: SYNTHETIC_DEFAULTS.size, seed: SYNTHETIC_DEFAULTS.seed, shift: SYNTHETIC_DEFAULTS.shift, smooth: SYNTHETIC_DEFAULTS.smooth };
      for (const part of rest.split(',').filter(Boolean)) {
        const [key, value, extra] = part.split('=');
        if (!(key in params) || value === undefined || extra !== undefined) fail(spec, `unknown or malformed parameter '${part}' (count, size, seed, shift, smooth)`);
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) fail(spec, `${key} must be a non-negative integer, got '${value}'`);
        params[key] = n;
      }
      if (!(params.count >= 1)) fail(spec, 'count=N (N ≥ 1) is required');
      if (params.size < 16 || params.size > 2048) fail(spec, `size must be 16–2048, got ${params.size}`);
      if (params.shift > 1) fail(spec, `shift must be 0 or 1, got ${params.shift}`);
      if (params.smooth > 1) fail(spec, `smooth must be 0 or 1, got ${params.smooth}`);
      return { kind, count: params.count, size: params.size, seed: params.seed, shift: params.shift, smooth: params.smooth };
    }
    case 'oxford':
      if (!rest) fail(spec, 'missing the directory');
      return { kind, dir: rest };
    case 'folder': {
      const sep = rest.lastIndexOf(':');
      if (sep <= 0 || sep === rest.length - 1) fail(spec, 'expected folder:<images dir>:<masks dir>');
      return { kind, imagesDir: rest.slice(0, sep), masksDir: rest.slice(sep + 1) };
    }
    case 'feedback': {
      const at = rest.lastIndexOf('@');
      if (!rest || at === 0) fail(spec, 'missing the directory');
      if (at > 0) {
        const version = Number(rest.slice(at + 1));
        if (!Number.isInteger(version) || version < 1) fail(spec, `version after '@' must be a positive integer`);
        return { kind, dir: rest.slice(0, at), version };
      }
      return { kind, dir: rest };
    }
    default:
      fail(spec, `unknown source kind '${kind}'`);
  }
}

/** The canonical text of a spec (stable, used in cards and cache keys). */
export function formatDatasetSpec(spec: DatasetSpec): string {
  const text = formatUnweighted(spec);
  return spec.weight !== undefined && spec.weight !== 1 ? `${text}*${spec.weight}` : text;
}

function formatUnweighted(spec: DatasetSpec): string {
  switch (spec.kind) {
    case 'synthetic':
      return `synthetic:count=${spec.count},size=${spec.size},seed=${spec.seed}${spec.shift ? `,shift=${spec.shift}` : ''}${spec.smooth ? `,smooth=${spec.smooth}` : ''}`;
    case 'oxford':
      return `oxford:${spec.dir}`;
    case 'folder':
      return `folder:${spec.imagesDir}:${spec.masksDir}`;
    case 'feedback':
      return `feedback:${spec.dir}${spec.version ? `@${spec.version}` : ''}`;
  }
}

const JOIN = /\+(?=(?:synthetic|oxford|folder|feedback):)/;

/** Parses one spec or several joined with `+`. */
export function parseDatasetSpecs(text: string): DatasetSpec[] {
  if (typeof text !== 'string' || text.length === 0) fail(String(text), 'empty');
  return text.split(JOIN).map(parseDatasetSpec);
}

/** Writes specs back as text, joined with `+` (the form parseDatasetSpec and the CLI read). */
export function formatDatasetSpecs(specs: DatasetSpec[]): string {
  return specs.map(formatDatasetSpec).join('+');
}
