/**
 * The public API surface: every name each subpath of package.json `exports` declares (its entry's
 * `.d.ts`, read from the sources with the TypeScript compiler's API, no build), with its kind, must
 * equal the committed list test/fixtures/api-surface.txt (`subpath name kind`, one a line, sorted).
 * A change to the public API is therefore a visible diff of that file. After an intended change:
 *
 *   EDGESEG_UPDATE_API_SURFACE=1 npx tsx scripts/test.ts test/unit/api_surface.test.ts
 *
 * rewrites the list. Each public name is reachable from one subpath only; the runtime-web entries
 * (`edgeseg/runtime-web`, `/tfjs`, `/ort`) count as one, since the lean ones are the same API with
 * one engine.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatSurface, readApiSurface, RUNTIME_WEB_FAMILY, type SurfaceRow } from '../helpers/api_surface.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIST = join(ROOT, 'test/fixtures/api-surface.txt');
const UPDATE = process.env.EDGESEG_UPDATE_API_SURFACE === '1';

/** Lines only in one side, `-` for the committed list and `+` for the sources, in sorted order. */
function lineDiff(committed: string, actual: string): string[] {
  const before = new Set(committed.split('\n').filter(Boolean));
  const after = new Set(actual.split('\n').filter(Boolean));
  const removed = [...before].filter((l) => !after.has(l)).map((l) => `- ${l}`);
  const added = [...after].filter((l) => !before.has(l)).map((l) => `+ ${l}`);
  return [...removed, ...added].sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : a.slice(2) > b.slice(2) ? 1 : 0));
}

let rows: SurfaceRow[] | undefined;
function surface(): SurfaceRow[] {
  rows ??= readApiSurface(ROOT);
  return rows;
}

test('the public .d.ts surface equals the committed list test/fixtures/api-surface.txt', () => {
  const actual = formatSurface(surface());
  if (UPDATE) writeFileSync(LIST, actual);
  assert.ok(existsSync(LIST), `${LIST} is missing: run EDGESEG_UPDATE_API_SURFACE=1 npx tsx scripts/test.ts test/unit/api_surface.test.ts`);
  const diff = lineDiff(readFileSync(LIST, 'utf8'), actual);
  assert.deepEqual(
    diff,
    [],
    `the public API differs from test/fixtures/api-surface.txt (- committed, + sources):\n${diff.join('\n')}\n` +
      'If the change is intended, rewrite the list with EDGESEG_UPDATE_API_SURFACE=1 npx tsx scripts/test.ts test/unit/api_surface.test.ts and commit it.',
  );
});

test('every subpath in package.json exports has a curated entry with at least one name', () => {
  const counts = new Map<string, number>();
  for (const r of surface()) counts.set(r.subpath, (counts.get(r.subpath) ?? 0) + 1);
  for (const subpath of ['edgeseg/core', 'edgeseg/core/node', 'edgeseg/trainer', 'edgeseg/converter', 'edgeseg/runtime-node', 'edgeseg/runtime-web', 'edgeseg/runtime-web/tfjs', 'edgeseg/runtime-web/ort']) {
    assert.ok((counts.get(subpath) ?? 0) > 0, `${subpath} exports nothing`);
  }
});

test('no public name is reachable from two subpaths (the runtime-web entries count as one)', () => {
  const homes = new Map<string, Set<string>>();
  for (const r of surface()) {
    const home = RUNTIME_WEB_FAMILY.test(r.subpath) ? 'edgeseg/runtime-web*' : r.subpath;
    homes.set(r.name, (homes.get(r.name) ?? new Set()).add(home));
  }
  const shared = [...homes].filter(([, h]) => h.size > 1).map(([name, h]) => `${name}: ${[...h].join(', ')}`);
  assert.deepEqual(shared, [], `names exported by more than one subpath (export each from the subpath of the room that defines it):\n${shared.join('\n')}`);
});
