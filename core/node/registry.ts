/**
 * The model registry: `<root>/<name>/<version>/` directories plus `<root>/registry.json`, which
 * maps aliases (`champion`, `challenger`, …) to versions per model name. Versions of trained
 * models are integers (1, 2, …); converted variants are `<parent version>-<precision>`. Training
 * runs and conversions in progress are staged in `<root>/<name>/.runs/<version>/` and appear only
 * when published, complete. Every registry write (alias moves, gc, publishing) is atomic and
 * holds the registry lock. Also here: a lineage's champion and trained root, and the digest that
 * names a version in `edgeseg.models` events.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, ModelFormatError, CARD_JSON, type ModelCard } from '../index.js';
import { type RolloutState } from '../rollout.js';
import { parseJsonText } from '../schemas.js';
import { withLock, writeFileAtomic } from './fs_atomic.js';
import { osError, withOsErrors } from './safe_read.js';

/** File name of a model name's registry (aliases and their history) under the registry root. */
export const REGISTRY_FILE = 'registry.json';
/** Default registry root, relative to the working directory. */
export const DEFAULT_MODELS_ROOT = 'models';

/** One alias move, kept so `rollback` knows where an alias pointed before. */
export interface AliasMove {
  alias: string;
  from: string | null;
  to: string | null;
  at: string;
  reason?: string;
}

/** One model name's entry in the registry file: aliases, their history, and a rollout in progress. */
export interface RegistryEntry {
  aliases: Record<string, string>;
  history?: AliasMove[];
  rollout?: RolloutState;
}

interface RegistryFile {
  schema: 'edgeseg.registry.v1';
  models: Record<string, RegistryEntry>;
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;
/** Longest model name: one path segment well inside every file system's name limit. */
export const MAX_MODEL_NAME_CHARS = 100;
/** A version: a trained one (`3`) or a variant of one (`3-uint8`, `3-fp16`). */
const VERSION = /^[0-9]{1,9}(-[a-z0-9]{1,16}){0,2}$/;

/** `<name>@<version>` as the registry commands take it. */
export interface ModelRef {
  name: string;
  version: string;
}

/**
 * A model name as the registry stores it (one folder under the root): letters, digits, '.',
 * '_' and '-', starting with a letter or digit, at most MAX_MODEL_NAME_CHARS. Anything else —
 * `../outside-model`, a path, an empty or absurdly long name — is a ConfigError, so no name
 * leaves the registry or meets the OS's name limit.
 */
export function parseModelName(name: string, what = 'model name'): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > MAX_MODEL_NAME_CHARS) {
    throw new ConfigError(`${what} '${String(name).slice(0, 120)}' must be 1–${MAX_MODEL_NAME_CHARS} letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  return name;
}

/**
 * The one parser of `<name>@<version>` for the registry commands (`models canary|promote`):
 * a registry name and a version (`3`, `3-uint8`), nothing else — no path, no `..`, no alias.
 */
export function parseModelRef(ref: string): ModelRef {
  const at = typeof ref === 'string' ? ref.lastIndexOf('@') : -1;
  if (at <= 0) throw new ConfigError(`expected <name>@<version>, got '${String(ref).slice(0, 120)}'`);
  const name = parseModelName(ref.slice(0, at));
  const version = ref.slice(at + 1);
  if (!VERSION.test(version)) throw new ConfigError(`version '${version.slice(0, 120)}' of '${name}' must be a registry version such as 3 or 3-uint8`);
  return { name, version };
}

function readRegistry(root: string): RegistryFile {
  const p = join(root, REGISTRY_FILE);
  if (!existsSync(p)) return { schema: 'edgeseg.registry.v1', models: {} };
  const broken = (why: string) => new ModelFormatError('MODEL_MALFORMED', `${p} ${why}; restore it from a backup or remove it (aliases and rollouts are lost, versions are kept)`);
  const text = withOsErrors(p, 'registry file', () => readFileSync(p, 'utf8'));
  const reg = parseJsonText(text, p, () => broken('is not valid JSON (cut short?)'));
  const models = (reg as Partial<RegistryFile> | null)?.models;
  if (reg === null || typeof reg !== 'object' || Array.isArray(reg) || models === null || typeof models !== 'object' || Array.isArray(models)) throw broken(`is not an edgeseg registry (no 'models' object)`);
  for (const [name, entry] of Object.entries(models)) {
    const al = (entry as Partial<RegistryEntry> | null)?.aliases;
    if (al === null || typeof al !== 'object' || Array.isArray(al)) throw broken(`has no aliases object for model '${name}'`);
  }
  return reg as RegistryFile;
}

/** Complete versions of a model, oldest first (trained versions by number, variants after their parent). */
export function listVersions(root: string, name: string): string[] {
  const dir = join(root, name);
  if (!existsSync(dir)) return [];
  return withOsErrors(dir, 'model folder', () => readdirSync(dir))
    .filter((v) => !v.startsWith('.') && existsSync(join(dir, v, CARD_JSON)))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Names of the models under a registry root. */
export function listModelNames(root: string): string[] {
  if (!existsSync(root)) return [];
  return withOsErrors(root, 'registry folder (--models)', () => readdirSync(root).filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory()));
}

/** A model name's aliases (`champion`, `challenger`, …) and the versions they point at. */
export function aliases(root: string, name: string): Record<string, string> {
  return { ...(readRegistry(root).models[name]?.aliases ?? {}) };
}

/** Alias moves of a model, oldest first. */
export function aliasHistory(root: string, name: string): AliasMove[] {
  return [...(readRegistry(root).models[name]?.history ?? [])];
}

/** A model name's registry entry (a copy; empty when the name has none). */
export function registryEntry(root: string, name: string): RegistryEntry {
  return structuredClone(readRegistry(root).models[name] ?? { aliases: {} });
}

/**
 * Changes a model name's registry entry under the registry lock and writes it atomically: the one
 * way the rollout state and its alias moves change together.
 */
export async function updateRegistryEntry<T>(root: string, name: string, change: (entry: RegistryEntry) => T): Promise<T> {
  parseModelName(name);
  return withLock(join(root, REGISTRY_FILE), () => {
    const reg = readRegistry(root);
    const result = change((reg.models[name] ??= { aliases: {} }));
    writeFileAtomic(join(root, REGISTRY_FILE), JSON.stringify(reg, null, 2) + '\n');
    return result;
  });
}

/** Points `alias` at `version` (null removes it) under the registry lock, recording the move. Returns the previous version. */
export async function setAlias(root: string, name: string, alias: string, version: string | null, reason?: string): Promise<string | null> {
  parseModelName(name);
  if (version !== null && !VERSION.test(version)) throw new ConfigError(`version '${version.slice(0, 120)}' of '${name}' must be a registry version such as 3 or 3-uint8`);
  if (!NAME.test(alias) || /^\d/.test(alias) || alias === 'latest') throw new ConfigError(`alias '${alias}' must be a name that does not start with a digit (and is not 'latest')`);
  return withLock(join(root, REGISTRY_FILE), () => {
    if (version !== null && !existsSync(join(root, name, version, CARD_JSON))) {
      throw new ModelFormatError('MODEL_NOT_FOUND', `${name} has no complete version ${version}`);
    }
    const reg = readRegistry(root);
    const entry = (reg.models[name] ??= { aliases: {} });
    const from = entry.aliases[alias] ?? null;
    if (version === null) delete entry.aliases[alias];
    else entry.aliases[alias] = version;
    if (from !== version) (entry.history ??= []).push({ alias, from, to: version, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
    writeFileAtomic(join(root, REGISTRY_FILE), JSON.stringify(reg, null, 2) + '\n');
    return from;
  });
}

/**
 * Moves `alias` back to where it pointed before its current version (skipping versions that no
 * longer exist). Returns `{from, to}`; throws when there is nothing to roll back to.
 */
export async function rollbackAlias(root: string, name: string, alias = 'champion'): Promise<{ from: string; to: string }> {
  const current = aliases(root, name)[alias];
  if (!current) throw new ConfigError(`${name} has no '${alias}' alias to roll back`);
  // Walk the history backwards: each earlier value the alias held, newest first.
  const earlier = aliasHistory(root, name)
    .filter((m) => m.alias === alias)
    .map((m) => m.from)
    .reverse()
    .filter((v): v is string => v !== null && v !== current && existsSync(join(root, name, v, CARD_JSON)));
  if (earlier.length === 0) throw new ConfigError(`${name}@${alias} = ${current} has no earlier version to roll back to`);
  await setAlias(root, name, alias, earlier[0], `rollback from ${current}`);
  return { from: current, to: earlier[0] };
}

/**
 * Deletes versions nothing needs: a version is kept when it or its parent is among the `keep`
 * newest trained versions, or when an alias names it now or named it in the last `keep` moves
 * (a kept variant keeps its parent). Returns the deleted versions (to be deleted, with `dryRun`).
 */
export async function gcVersions(root: string, name: string, o: { keep?: number; dryRun?: boolean } = {}): Promise<string[]> {
  parseModelName(name);
  const keep = o.keep ?? 3;
  if (!(Number.isInteger(keep) && keep >= 1)) throw new ConfigError(`--keep must be an integer ≥ 1, got ${keep}`);
  return withLock(join(root, REGISTRY_FILE), () => {
    const versions = listVersions(root, name);
    const parentOf = (v: string) => v.split('-')[0];
    const newest = new Set(versions.filter((v) => /^\d+$/.test(v)).slice(-keep));
    const reg = readRegistry(root).models[name];
    const named = new Set<string>(Object.values(reg?.aliases ?? {}));
    for (const m of (reg?.history ?? []).slice(-keep)) for (const v of [m.from, m.to]) if (v) named.add(v);
    for (const v of [...named]) named.add(parentOf(v));
    const doomed = versions.filter((v) => !named.has(v) && !newest.has(parentOf(v)));
    if (!o.dryRun) for (const v of doomed) rmSync(join(root, name, v), { recursive: true, force: true });
    return doomed;
  });
}

const STAGING = '.runs';

/**
 * Where a version is written before it is published: `<root>/<name>/.runs/<version>/`. Readers
 * never look there (`listVersions` skips dot folders), so a half-written version is invisible.
 */
export function stagingDir(root: string, name: string, version: string): string {
  return join(root, name, STAGING, version);
}

/** Staging directories of a model's versions in progress (unfinished or crashed training runs, conversions). */
export function listStaged(root: string, name: string): string[] {
  const dir = join(root, name, STAGING);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((v) => join(dir, v));
}

/**
 * Reserves the next integer version of `name` by creating its staging directory (mkdir is the
 * atomic step, so concurrent trainers get different versions).
 */
export function reserveVersion(root: string, name: string): { version: string; runDir: string } {
  parseModelName(name);
  const runs = join(root, name, STAGING);
  withOsErrors(root, 'registry folder (--models)', () => mkdirSync(runs, { recursive: true }));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const used = [...readdirSync(join(root, name)), ...readdirSync(runs)].map((v) => parseInt(v, 10)).filter((n) => Number.isInteger(n));
    const version = String(Math.max(0, ...used) + 1);
    try {
      mkdirSync(join(runs, version));
      return { version, runDir: join(runs, version) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw osError(err, join(runs, version), 'staging folder');
    }
  }
  throw new ConfigError(`could not reserve a version of ${name} under ${root}`);
}

/**
 * An empty staging directory for a version whose name is known (a converted variant
 * `<parent>-<precision>`); what a failed earlier attempt left there is cleared.
 */
export function stageVersion(root: string, name: string, version: string): string {
  parseModelName(name);
  const dir = stagingDir(root, name, version);
  rmSync(dir, { recursive: true, force: true });
  withOsErrors(root, 'registry folder (--models)', () => mkdirSync(dir, { recursive: true }));
  return dir;
}

/**
 * Publishes a staged version as `<root>/<name>/<version>/` (one rename) under the registry lock,
 * so alias moves and gc never see it half in place. An existing version is refused unless
 * `replace` (a re-conversion with --force), which deletes it first.
 */
export async function publishRun(root: string, name: string, version: string, o: { replace?: boolean } = {}): Promise<string> {
  const target = join(root, name, version);
  return withLock(join(root, REGISTRY_FILE), () => {
    if (existsSync(target)) {
      if (!o.replace) throw new ConfigError(`${target} already exists; pass --force to replace it`);
      rmSync(target, { recursive: true, force: true });
    }
    renameSync(stagingDir(root, name, version), target);
    return target;
  });
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

/** The registry directory of a model's champion (its newest trained version when it has none). */
export function championDir(root: string, name: string): string {
  return aliases(root, name).champion ? resolveModelRef(`${name}@champion`, root) : resolveModelRef(name, root);
}

/** The card of a model directory, unverified (for lineage and naming; loading verifies). */
export function readCard(dir: string): ModelCard {
  return JSON.parse(readFileSync(join(dir, CARD_JSON), 'utf8')) as ModelCard;
}

/** The fp32 trained version a model version came from (itself when it is one): the lineage's root. */
export function trainedRoot(root: string, name: string, dir: string): { dir: string; card: ModelCard } {
  const card = readCard(dir);
  if (!card.version.includes('-')) return { dir, card };
  const parent = join(root, name, card.parentVersion!);
  return { dir: parent, card: readCard(parent) };
}

/** sha256 of a model directory's SHA256SUMS: the identity carried by `edgeseg.models` events. */
export function modelDigest(dir: string): string {
  return createHash('sha256').update(readFileSync(join(dir, 'SHA256SUMS'))).digest('hex');
}
