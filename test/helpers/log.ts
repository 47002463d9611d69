/** A logger that drops everything, for tests that assert on results rather than log lines. */
import type { Logger } from '../../core/index.js';

export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet, level: 'silent' };
