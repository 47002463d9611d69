/**
 * edgeseg as its users get it: the package built and packed the way `npm publish` would (the
 * library parts of `npm run build`, then `npm pack`), and fresh projects that install the tarball
 * from npm's local cache. Shared by the package consumer test and `npm run bench:package`.
 *
 * The demo build (dist/web) is left alone: the browser tests serve it while this runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Longest a build, pack or install may take before the caller fails. */
const STEP_TIMEOUT_MS = 5 * 60_000;

export interface PackedPackage {
  tarball: string;
  /** Bytes of the .tgz. */
  packedBytes: number;
  /** Bytes of the files inside it. */
  unpackedBytes: number;
  files: string[];
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: STEP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Builds what the package ships (dist/lib, dist/runtime-web) and packs it into `dest`. */
export function packPackage(dest: string): PackedPackage {
  mkdirSync(dest, { recursive: true });
  run(NPM, ['run', 'build:lib'], PACKAGE_ROOT);
  run(process.execPath, [join(PACKAGE_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--mode', 'lib', '--logLevel', 'error'], PACKAGE_ROOT);
  // prepack would rebuild the demo too: its steps just ran.
  const [info] = JSON.parse(run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], PACKAGE_ROOT)) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  return { tarball: join(dest, info.filename), packedBytes: info.size, unpackedBytes: info.unpackedSize, files: info.files.map((f) => f.path) };
}

/** The version of a package installed in this checkout (so a consumer's install hits the npm cache). */
export function checkoutVersion(name: string): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * A fresh ESM project in `dir` with `dependencies`, installed from the local npm cache when it can
 * (`--prefer-offline`). onnxruntime-node's install script would fetch CUDA binaries from outside
 * the registry; its CPU binary is inside the package, so the project's .npmrc skips the download,
 * as edgeseg's own does.
 */
export function installProject(dir: string, dependencies: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'edgeseg-consumer', private: true, type: 'module', dependencies }, null, 2));
  writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
  run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
}

/** Runs a command of the consumer project with plain node: no tsx loader, no NODE_OPTIONS. */
export function runPlainNode(args: string[], cwd: string): string {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  return run(process.execPath, args, cwd, env);
}
