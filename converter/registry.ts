/**
 * The model registry: `<root>/<name>/<version>/` directories plus `<root>/registry.json`, which
 * maps aliases (`champion`, `challenger`, …) to versions per model name. Versions of trained
 * models are integers (1, 2, …); converted variants are `<parent version>-<precision>`. Training
 * runs in progress live in `<root>/<name>/.runs/<version>/` and appear only when complete.
 * Every registry write is atomic and holds the registry lock.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, ModelFormatError, CARD_JSON } from '../core/index.js';
import { withLock, writeFileAtomic } from './fs_atomic.js';

export const REGISTRY_FILE = 'registry.json';
/** Default registry root, relative to the working directory. */
export const DEFAULT_MODELS_ROOT = 'models';

interface RegistryFile {
  schema: 'edgeseg.registry.v1';
  models: Record<string, { aliases: Record<string, string> }>;
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;

function readRegistry(root: string): RegistryFile {
  const p = join(root, REGISTRY_FILE);
  if (!existsSync(p)) return { schema: 'edgeseg.registry.v1', models: {} };
  return JSON.parse(readFileSync(p, 'utf8')) as RegistryFile;
}

/** Complete versions of a model, oldest first (trained versions by number, variants after their parent). */
export function listVersions(root: string, name: string): string[] {
  const dir = join(root, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((v) => !v.startsWith('.') && existsSync(join(dir, v, CARD_JSON)))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0));
}

export function listModelNames(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory());
}

export function aliases(root: string, name: string): Record<string, string> {
  return { ...(readRegistry(root).models[name]?.aliases ?? {}) };
}

export async function setAlias(root: string, name: string, alias: string, version: string | null): Promise<void> {
  if (!NAME.test(alias) || /^\d/.test(alias) || alias === 'latest') throw new ConfigError(`alias '${alias}' must be a name that does not start with a digit (and is not 'latest')`);
  await withLock(join(root, REGISTRY_FILE), () => {
    if (version !== null && !existsSync(join(root, name, version, CARD_JSON))) {
      throw new ModelFormatError('MODEL_NOT_FOUND', `${name} has no complete version ${version}`);
    }
    const reg = readRegistry(root);
    const entry = (reg.models[name] ??= { aliases: {} });
    if (version === null) delete entry.aliases[alias];
    else entry.aliases[alias] = version;
    writeFileAtomic(join(root, REGISTRY_FILE), JSON.stringify(reg, null, 2) + '\n');
  });
}

/**
 * Reserves the next integer version of `name` by creating its run directory
 * `<root>/<name>/.runs/<version>/` (mkdir is the atomic step).
 */
export function reserveVersion(root: string, name: string): { version: string; runDir: string } {
  if (!NAME.test(name)) throw new ConfigError(`model name '${name}' may hold letters, digits, '.', '_' and '-' only`);
  const runs = join(root, name, '.runs');
  mkdirSync(runs, { recursive: true });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const used = [...readdirSync(join(root, name)), ...readdirSync(runs)].map((v) => parseInt(v, 10)).filter((n) => Number.isInteger(n));
    const version = String(Math.max(0, ...used) + 1);
    try {
      mkdirSync(join(runs, version));
      return { version, runDir: join(runs, version) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new ConfigError(`could not reserve a version of ${name} under ${root}`);
}

/** Moves a finished run directory into place as `<root>/<name>/<version>/` (one rename). */
export function publishRun(root: string, name: string, version: string): string {
  const target = join(root, name, version);
  renameSync(join(root, name, '.runs', version), target);
  return target;
}

/**
 * Resolves what `--model` names: a directory path, `<name>@<version|alias|latest>`, `<name>`
 * (its champion, else its latest version), or a bare alias when exactly one model has it.
 */
export function resolveModelRef(ref: string, root: string = DEFAULT_MODELS_ROOT): string {
  const asPath = isAbsolute(ref) ? ref : resolve(ref);
  const looksLikePath = ref.includes('/') || ref.startsWith('.');
  if (existsSync(join(asPath, CARD_JSON)) || existsSync(join(asPath, 'model.json')) || (looksLikePath && existsSync(asPath))) return asPath;
  const [name, tag] = ref.includes('@') ? (ref.split('@', 2) as [string, string]) : [ref, undefined];
  const names = listModelNames(root);
  const pick = (model: string, t: string | undefined): string | null => {
    const versions = listVersions(root, model);
    const al = aliases(root, model);
    const v = t === undefined ? (al.champion ?? versions.filter((x) => /^\d+$/.test(x)).at(-1)) : t === 'latest' ? versions.at(-1) : (al[t] ?? (versions.includes(t) ? t : undefined));
    return v ? resolve(root, model, v) : null;
  };
  if (names.includes(name)) {
    const hit = pick(name, tag);
    if (hit) return hit;
    throw new ModelFormatError('MODEL_NOT_FOUND', `model ${name} has no version or alias '${tag ?? 'champion'}' in ${resolve(root)} (versions: ${listVersions(root, name).join(', ') || 'none'})`);
  }
  if (tag === undefined) {
    const owners = names.filter((n) => aliases(root, n)[ref] !== undefined);
    if (owners.length === 1) return pick(owners[0], ref)!;
    if (owners.length > 1) throw new ConfigError(`alias '${ref}' is set for several models (${owners.join(', ')}); write <name>@${ref}`);
  }
  throw new ModelFormatError('MODEL_NOT_FOUND', `'${ref}' is neither a model directory nor a model or alias in ${resolve(root)}`);
}
