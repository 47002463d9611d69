/**
 * The fault table the test runner prints when a run ends: one row per class of bad input (tried /
 * refused / lost), appended by each fault test file (test/helpers/fault_tally.ts) to the file
 * named by FAULT_TABLE_ENV. Declared here, below the tests, so the runner needs nothing of test/.
 */

/** Environment variable naming the file the runner collects fault rows in (one JSON object a line). */
export const FAULT_TABLE_ENV = 'EDGESEG_FAULT_TABLE';

/** One row of the fault table. */
export interface FaultRow {
  cls: string;
  tried: number;
  refused: number;
  lost: number;
}
