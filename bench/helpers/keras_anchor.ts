/**
 * The Keras/TensorFlow anchor of bench:train: python3 itself when it imports TensorFlow and Keras,
 * else a virtual environment under .cache/ with tensorflow-cpu (installed by `python3 -m pip` on
 * first use), running bench/anchors/keras_train.py.
 * A reference point, never a dependency: when it cannot be set up, `kerasAnchor` says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const VENV = join(ROOT, '.cache', 'keras-anchor');
const PYTHON = join(VENV, 'bin', 'python');
const SCRIPT = join(ROOT, 'bench', 'anchors', 'keras_train.py');

export interface KerasRun {
  model: string;
  threads: number;
  batch: number;
  msPerStep: number;
  /** CPU time of the whole process per step (every TensorFlow thread). */
  cpuMsPerStep: number;
  steps: number;
  tensorflow: string;
  keras: string;
}

/** The venv's python with tensorflow importable, installing it if needed; or the reason it is not available. */
export function kerasAnchor(log: (line: string) => void): { python: string } | { skipped: string } {
  const imports = (python: string) => spawnSync(python, ['-c', 'import tensorflow, keras'], { stdio: 'ignore', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } }).status === 0;
  const importable = () => existsSync(PYTHON) && imports(PYTHON);
  if (importable()) return { python: PYTHON };
  // A python3 that already has TensorFlow needs no 600 MB venv.
  if (imports('python3')) return { python: 'python3' };
  try {
    if (spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' }).status !== 0) return { skipped: 'python3 -m pip is not available' };
    log(`keras anchor: installing tensorflow-cpu into ${VENV} (once; about 600 MB)`);
    if (!existsSync(PYTHON)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', 'tensorflow-cpu'], { stdio: 'inherit' });
  } catch (err) {
    return { skipped: `tensorflow-cpu could not be installed: ${(err as Error).message.split('\n')[0]}` };
  }
  return importable() ? { python: PYTHON } : { skipped: 'tensorflow-cpu installed but does not import' };
}

/** One anchor process: `steps` timed training steps of `model` on `threads` threads. */
export function runKeras(python: string, o: { model: string; threads: number; batch: number; steps: number; warmup: number; baseFilters: number; depth: number }): KerasRun {
  const args = [SCRIPT, '--model', o.model, '--threads', String(o.threads), '--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup), '--base-filters', String(o.baseFilters), '--depth', String(o.depth)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, timeout: 20 * 60_000 });
  const line = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`keras anchor failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(line) as KerasRun;
}
