import { execFileSync } from 'node:child_process';
import { PACKAGE_ROOT } from './package_root.js';

let cached: string | undefined;

/** The git commit of edgeseg's own source (`<sha>`, `<sha>-dirty`), or `unknown` outside a checkout. */
export function codeRevision(): string {
  if (cached) return cached;
  const cwd = PACKAGE_ROOT;
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    cached = dirty ? `${sha}-dirty` : sha;
  } catch {
    cached = 'unknown';
  }
  return cached;
}
