/**
 * Every `bench:*` script of package.json, run in smoke mode (bench/helpers/smoke.ts): its smallest
 * sizes and one round, results in a temporary folder, so a bench that no longer starts fails the
 * suite instead of the next person who runs it. Nothing here times anything: a smoke run passes
 * when the bench exits 0 and writes its results file. bench:stream uses the test broker when the
 * runner started one (KAFKA_BROKERS), the browser benches the system Chromium.
 *
 * A new bench:* script needs its smoke arguments in SMOKE_ARGS, or this test fails naming it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SMOKE_ENV } from '../../bench/helpers/smoke.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Longest one smoke run may take before it counts as hung. */
const BENCH_TIMEOUT_MS = 15 * 60_000;

/** The smallest-size, one-round arguments of each bench, and the results file it must write. */
const SMOKE_ARGS: Record<string, { args: string[]; writes: string }> = {
  'bench:train': { args: ['--steps', '1', '--rounds', '1', '--warmup', '1', '--batch', '2', '--workers', '2', '--models', 'unet-small', '--skip-keras'], writes: 'train.json' },
  'bench:convert': { args: [], writes: 'convert.json' },
  'bench:stream': { args: ['--frames', '6', '--latency-seconds', '1'], writes: 'stream.json' },
  // uint8 is the variant that needs calibration; the software-GPU cases take a minute each.
  'bench:web': { args: ['--frames', '2', '--runs', '1', '--max-seconds', '5', '--variants', 'uint8', '--cases', 'tfjs-wasm,ort-wasm,auto'], writes: 'web.json' },
  'bench:engines': { args: ['--frames', '2', '--stream-frames', '6'], writes: 'engines.json' },
  'bench:package': { args: ['--runs', '1'], writes: 'package.json' },
  'bench:resolution': { args: ['--limit', '1'], writes: 'resolution.json' },
  'bench:flicker': { args: ['--photos', '1', '--frames', '2'], writes: 'flicker.json' },
  'bench:pets': { args: ['--steps', '1', '--batch', '2', '--workers', '1', '--runs', '1', '--frames', '1', '--photos', '1', '--data', 'oxford:data/oxford-pets-sample'], writes: 'pets.json' },
};

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const benches = Object.entries(scripts).filter(([name]) => name.startsWith('bench:'));

/** Runs one bench script's command (`tsx bench/<x>.ts`) with the smoke arguments; resolves with its exit code and output tail. */
function runBench(command: string, args: string[], out: string): Promise<{ code: number | null; tail: string; seconds: number }> {
  const m = /^tsx (bench\/[\w-]+\.ts)$/.exec(command);
  assert.ok(m, `bench script '${command}' is not 'tsx bench/<name>.ts'`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', m[1], ...args], { cwd: ROOT, env: { ...process.env, [SMOKE_ENV]: out }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, tail, seconds: (Date.now() - started) / 1000 });
    });
  });
}

describe('benches in smoke mode', () => {
  it('knows the smoke arguments of every bench:* script', () => {
    assert.ok(benches.length > 0);
    assert.deepEqual(benches.map(([n]) => n).filter((n) => !SMOKE_ARGS[n]), [], 'add the new bench to SMOKE_ARGS');
  });

  for (const [name, command] of benches) {
    it(`${name} starts, runs one smallest round and writes its results`, async () => {
      const smoke = SMOKE_ARGS[name];
      assert.ok(smoke, `no smoke arguments for ${name}`);
      const out = tempDir(`smoke-${name.slice('bench:'.length)}`);
      const committed = join(ROOT, 'bench', 'out', smoke.writes);
      const before = existsSync(committed) ? statSync(committed).mtimeMs : null;
      const r = await runBench(command, smoke.args, out);
      console.log(`${name} smoke: exit ${r.code} in ${r.seconds.toFixed(0)} s`);
      assert.equal(r.code, 0, `${name} failed:\n${r.tail}`);
      assert.ok(existsSync(join(out, smoke.writes)), `${name} wrote no ${smoke.writes}`);
      JSON.parse(readFileSync(join(out, smoke.writes), 'utf8'));
      assert.equal(existsSync(committed) ? statSync(committed).mtimeMs : null, before, `${name} smoke run wrote bench/out`);
    });
  }
});
