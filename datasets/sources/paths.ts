import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

/** The real path of `path` if it lies inside `root` (symlinks resolved), else null. */
export function insideRoot(root: string, path: string): string | null {
  const realRoot = realpathSync(root);
  const target = resolve(root, path);
  const real = existsSync(target) ? realpathSync(target) : target;
  const rel = relative(realRoot, real);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? null : real;
}
