/** What every CLI command shares: one logger (level and format from flags or env) and error exits. */
import { ConfigError, createLogger, EdgesegError, jsonSink, consoleSink, type Logger, type LogLevel } from '../core/index.js';
import { describeError } from '../core/errors.js';

export interface GlobalOptions {
  logLevel?: LogLevel;
  logFormat?: 'pretty' | 'json';
}

export function cliLogger(component: string, o: GlobalOptions = {}): Logger {
  const level = o.logLevel ?? (process.env.EDGESEG_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const format = o.logFormat ?? (process.env.EDGESEG_LOG_FORMAT as 'pretty' | 'json' | undefined) ?? 'pretty';
  return createLogger(component, { level, sink: format === 'json' ? jsonSink : consoleSink });
}

/** Prints a one-line error (no stack unless EDGESEG_DEBUG is set) and sets the exit code: 2 for bad usage, 1 otherwise. */
export function reportError(err: unknown): void {
  console.error(`error: ${describeError(err)}`);
  if (process.env.EDGESEG_DEBUG && err instanceof Error) console.error(err.stack);
  process.exitCode = err instanceof ConfigError ? 2 : err instanceof EdgesegError ? 1 : 1;
}

/** Parses a number option with a named error. */
export function numberOption(name: string, min = -Infinity, integer = false): (value: string) => number {
  return (value: string) => {
    // Number('') and Number('  ') are 0: a blank value is no number, not zero.
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new ConfigError(`--${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}, got '${value}'`);
    }
    return n;
  };
}

export function jsonOption(name: string): (value: string) => Record<string, unknown> {
  return (value: string) => {
    try {
      const v = JSON.parse(value) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch {
      throw new ConfigError(`--${name} must be a JSON object, e.g. '{"baseFilters":8}', got '${value}'`);
    }
  };
}
