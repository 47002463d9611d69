/**
 * Counts of a bad-input suite: every case tried is either refused (a named error, the service
 * still serving, nothing stored) or lost (accepted, crashed, or left something behind). Each
 * fault test file prints its class's line when it ends; `lost` must be 0. Under the test runner
 * (scripts/test.ts) each line is also appended to the file named by FAULT_TABLE_ENV, and the
 * runner prints every class as one table when the run ends.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { FAULT_TABLE_ENV, type FaultRow } from '../../scripts/fault_table.js';

export { FAULT_TABLE_ENV, type FaultRow } from '../../scripts/fault_table.js';

export class FaultTally {
  tried = 0;
  refused = 0;
  readonly lost: string[] = [];

  constructor(readonly cls: string) {}

  /** Runs one case; `check` throws (an assertion) when the case was not refused cleanly. */
  async case(name: string, check: () => Promise<void> | void): Promise<void> {
    this.tried++;
    try {
      await check();
      this.refused++;
    } catch (err) {
      this.lost.push(`${name}: ${(err as Error).message}`);
    }
  }

  /** Prints `faults <class>: tried N, refused N, lost N` and fails when anything was lost. */
  report(): void {
    console.log(`faults ${this.cls}: tried ${this.tried}, refused ${this.refused}, lost ${this.lost.length}`);
    const table = process.env[FAULT_TABLE_ENV];
    if (table) appendFileSync(table, `${JSON.stringify({ cls: this.cls, tried: this.tried, refused: this.refused, lost: this.lost.length } satisfies FaultRow)}\n`);
    assert.ok(this.tried > 0, `no ${this.cls} case ran`);
    assert.deepEqual(this.lost, [], `${this.cls}: cases not refused cleanly`);
  }
}
