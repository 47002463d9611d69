/**
 * The browser's view of the model registry: `/models/index.json`, asked for with this browser's
 * stable client id so that during a rollout the server assigns it an arm (the same hash
 * runtime-node routes sensors by) and a reload lands on the same version. `<name>@champion` then
 * names the version serving this browser: the canary on the canary's arm.
 */
import type { ModelIndexEntry } from '../core/artifacts.js';
import { ConfigError, ModelFormatError } from '../core/errors.js';

/** localStorage key of the client id. */
export const CLIENT_ID_KEY = 'edgeseg-client-id';
/** Where the web server lists the registry. */
export const DEFAULT_MODEL_INDEX = '/models/index.json';

/** The storage a client id is kept in (localStorage in a page). */
export type ClientIdStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** This browser's client id: made once (random), then read back from storage on every visit. */
export function browserClientId(storage: ClientIdStorage | null = globalThis.localStorage ?? null): string {
  const kept = storage?.getItem(CLIENT_ID_KEY);
  if (kept) return kept;
  const id = crypto.randomUUID();
  storage?.setItem(CLIENT_ID_KEY, id);
  return id;
}

/** Fetches the registry index for `client` (its arm marked on the version serving it, listed first). */
export async function fetchModelIndex(o: { url?: string; client?: string } = {}): Promise<ModelIndexEntry[]> {
  const url = new URL(o.url ?? DEFAULT_MODEL_INDEX, globalThis.location?.href);
  if (o.client) url.searchParams.set('client', o.client);
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new ModelFormatError('MODEL_NOT_FOUND', `${url.pathname}: HTTP ${res.status}`, { retriable: res.status >= 500 });
  return (await res.json()) as ModelIndexEntry[];
}

/**
 * The index entry `ref` names: `<name>@<version|alias>`. `<name>@champion` during a rollout is the
 * version serving this client (the index marks it with its arm). Throws naming what exists.
 */
export function pickModel(index: ModelIndexEntry[], ref: string): ModelIndexEntry {
  const at = ref.indexOf('@');
  if (at <= 0) throw new ConfigError(`model ref '${ref}' must be <name>@<version|alias>`);
  const [name, tag] = [ref.slice(0, at), ref.slice(at + 1)];
  const mine = index.filter((e) => e.name === name);
  const hit = (tag === 'champion' ? mine.find((e) => e.arm) : undefined) ?? mine.find((e) => e.aliases.includes(tag)) ?? mine.find((e) => e.version === tag);
  if (!hit) throw new ModelFormatError('MODEL_NOT_FOUND', `no ${ref} in the model index (${mine.map((e) => e.version).join(', ') || `no model ${name}`})`);
  return hit;
}
