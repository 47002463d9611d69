/**
 * Smoke mode of the benches: `EDGESEG_BENCH_SMOKE=<folder>` (set by test/e2e/bench_smoke.test.ts)
 * runs a bench at its smallest sizes and one round, so `npm test` notices a bench that no longer
 * starts. Its results go to that folder, never to bench/out or bench/report.md, and none of its
 * numbers is a measurement: smoke runs assert that a bench runs, nothing about how fast.
 */
import { join } from 'node:path';

/** The environment variable naming a smoke run's output folder. */
export const SMOKE_ENV = 'EDGESEG_BENCH_SMOKE';

/** True in a smoke run. */
export const SMOKE = Boolean(process.env[SMOKE_ENV]);

/** Where a bench writes its results: bench/out, or a smoke run's folder. */
export const BENCH_OUT = SMOKE ? process.env[SMOKE_ENV]! : 'bench/out';

/** `path` under BENCH_OUT. */
export function benchOut(path: string): string {
  return join(BENCH_OUT, path);
}
