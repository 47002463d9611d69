/**
 * `npm run bench`: every benchmark in turn — bench:train, bench:convert, bench:web, bench:stream
 * (and bench:engines, bench:package, bench:pets when present; bench:pets needs the shipped model in
 * data/models) — then one report, bench/report.md with its charts and
 * bench/report.json. bench:stream starts its own Kafka broker when none is running.
 *
 *   npm run bench                      (all; about 25 minutes on 2 cores, most of it the cpu training step)
 *   npm run bench -- --only convert,web
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from './report.js';

const { values: args } = parseArgs({ options: { only: { type: 'string' } } });
const ALL = ['train', 'convert', 'web', 'stream', 'engines', 'package', 'pets'].filter((b) => existsSync(join(import.meta.dirname, `${b}.ts`)));
const wanted = args.only ? args.only.split(',').map((s) => s.trim()) : ALL;
for (const w of wanted) if (!ALL.includes(w)) throw new Error(`--only: unknown bench '${w}' (benches: ${ALL.join(', ')})`);

const failed: string[] = [];
for (const name of wanted) {
  const started = Date.now();
  console.log(`\n=== bench:${name} ===`);
  const code = await new Promise<number>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${name}.ts`)], { stdio: 'inherit' });
    child.on('close', (c) => done(c ?? 1));
  });
  console.log(`=== bench:${name}: ${code === 0 ? 'done' : `failed (exit ${code})`} in ${Math.round((Date.now() - started) / 1000)} s ===`);
  if (code !== 0) failed.push(name);
}
const r = writeReport();
console.log(`\nreport: ${r.md} (sections: ${r.sections.join(', ')}); data: ${r.json}`);
if (failed.length) {
  console.error(`failed: ${failed.map((f) => `bench:${f}`).join(', ')} (their sections show the last successful run, if any)`);
  process.exit(1);
}
