/**
 * The `auto` calibration: times each candidate on a blank frame, cheapest first, while the first
 * one to load already serves frames. It may not cost more than it saves: a time budget bounds it
 * (candidates it does not reach are listed as not measured), and a candidate whose timed runs are
 * clearly slower than the best median so far is cut short. Each step takes the engine's lock, so
 * frames and calibration runs take turns on tfjs' one active backend.
 */
import { type ModelRunner } from '../core/engine.js';
import { percentile } from '../core/metrics.js';
import type { WebCandidate } from './segmenter_api.js';
import type { CandidateRow } from './segmenter_results.js';

/** Timed runs per candidate after its warm-up runs. */
export const CALIBRATION_RUNS = 5;
/** Untimed runs before the timed ones, at most: until two in a row agree within SETTLED. */
export const MAX_SETTLE_RUNS = 12;
/** Two untimed runs agree when they differ by at most this share of the earlier one. */
export const SETTLED = 0.15;
/**
 * A candidate whose fastest of three or more timed runs is slower than this many times the best
 * median so far is cut short (one slow run alone may be a GC pause).
 */
export const CUT_FACTOR = 1.5;

export interface CalibrationStep {
  candidate: WebCandidate;
  /** The runner that already serves (warm); null to load one with `load`. */
  serving: ModelRunner | null;
  /** Loads the candidate's runner and runs it once (under the lock); resolves with it. */
  load(): Promise<ModelRunner>;
  /** One timed run of a loaded runner (under the lock), ms. */
  time(runner: ModelRunner): Promise<number>;
}

export interface CalibrationOutcome {
  rows: CandidateRow[];
  /** The fastest candidate and its (warm) runner; every other runner loaded here is disposed. */
  best: { candidate: WebCandidate; runner: ModelRunner; medianMs: number } | null;
}

const parts = (c: WebCandidate) => {
  const [engine, backend] = c.split('-') as [CandidateRow['engine'], CandidateRow['backend']];
  return { engine, backend };
};

export async function calibrate(steps: CalibrationStep[], budgetMs: number): Promise<CalibrationOutcome> {
  const start = performance.now();
  const over = () => performance.now() - start > budgetMs;
  const rows: CandidateRow[] = [];
  let best: CalibrationOutcome['best'] = null;
  for (const step of steps) {
    const row: CandidateRow = { candidate: step.candidate, ...parts(step.candidate), status: 'measured', medianMs: null, warmupMs: null, runs: 0 };
    rows.push(row);
    if (over()) {
      Object.assign(row, { status: 'not-measured', reason: `the ${budgetMs} ms calibration budget was spent` });
      continue;
    }
    let runner = step.serving;
    try {
      if (!runner) {
        // Load (with its warm-up run), then untimed runs until two in a row agree within
        // SETTLED: a fresh wasm module runs on V8's baseline tier for seconds before its optimised
        // code arrives (ONNX Runtime's 27 MB module ran 150–370 ms per frame, then 70), and the
        // serving candidate has run frames already; timings then compare alike.
        const t0 = performance.now();
        runner = await step.load();
        let last = await step.time(runner);
        for (let i = 1; i < MAX_SETTLE_RUNS && !over(); i++) {
          const t = await step.time(runner);
          const settled = Math.abs(t - last) <= SETTLED * last;
          last = t;
          if (settled) break;
        }
        row.warmupMs = performance.now() - t0;
      }
      const ms: number[] = [];
      for (let i = 0; i < CALIBRATION_RUNS; i++) {
        const t = await step.time(runner);
        ms.push(t);
        const fastest = Math.min(...ms);
        if (best && ms.length >= 3 && fastest > CUT_FACTOR * best.medianMs) {
          Object.assign(row, { status: 'cut', reason: `fastest run ${fastest.toFixed(1)} ms, over ${CUT_FACTOR}× the best so far (${best.candidate}, ${best.medianMs.toFixed(1)} ms)` });
          break;
        }
        if (over() && ms.length >= 2) break;
      }
      row.runs = ms.length;
      row.medianMs = percentile(ms, 0.5);
      if (row.status !== 'cut' && (!best || row.medianMs < best.medianMs)) {
        if (best && best.runner !== steps.find((s) => s.candidate === best!.candidate)?.serving) await best.runner.dispose();
        best = { candidate: step.candidate, runner, medianMs: row.medianMs };
      } else if (runner !== step.serving) {
        await runner.dispose();
      }
    } catch (err) {
      if (runner && runner !== step.serving) await runner.dispose().catch(() => {});
      Object.assign(row, { status: 'failed', reason: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const row of rows) {
    if (row.candidate === best?.candidate) row.status = 'chosen';
    else if (row.status === 'measured') row.reason = `${row.medianMs!.toFixed(1)} ms per run, slower than ${best!.candidate}`;
  }
  return { rows, best };
}
