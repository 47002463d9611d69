#!/usr/bin/env node
// The edgeseg CLI. In a checkout (TypeScript sources beside this file, tsx installed) it runs the
// sources through tsx: no build step after `npm ci`, and never a stale build. The installed
// package carries no sources: it runs the compiled JavaScript of `npm run build` (dist/lib), with
// no tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(import.meta.resolve('../cli/main.ts'));

async function tsxRegister() {
  try {
    const { register } = await import('tsx/esm/api');
    return register;
  } catch {
    return null;
  }
}

const register = existsSync(source) ? await tsxRegister() : null;
let main;
if (register) {
  register();
  ({ main } = await import('../cli/main.ts'));
} else {
  ({ main } = await import('../dist/lib/cli/main.js'));
}
await main(process.argv);
