/**
 * One structured logger for the whole toolchain, platform-free. Each component takes a child
 * logger (`log.child('trainer')`); records carry a level, a component, a message and fields.
 * The sink decides the format: pretty single lines for people, JSON lines for machines.
 */

/** Log levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** One structured log line. */
export interface LogRecord {
  time: string;
  level: Exclude<LogLevel, 'silent'>;
  component: string;
  msg: string;
  [field: string]: unknown;
}

/** Where log records go. */
export type LogSink = (record: LogRecord) => void;

/** A component's logger: one method per level, each with optional structured fields. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
  readonly level: LogLevel;
}

/** Renders a record as `LEVEL component: message key=value …`. */
export function formatPretty(r: LogRecord): string {
  const { time: _time, level, component, msg, ...fields } = r;
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${level.toUpperCase().padEnd(5)} ${component}: ${msg}${extra ? ' ' + extra : ''}`;
}

/** Default sink: pretty lines on the console (stderr for warn/error in Node). */
export const consoleSink: LogSink = (r) => {
  const line = formatPretty(r);
  if (r.level === 'error') console.error(line);
  else if (r.level === 'warn') console.warn(line);
  else console.log(line);
};

/** Sink writing one JSON object per line. */
export const jsonSink: LogSink = (r) => console.log(JSON.stringify(r));

/** A logger for `component` at `options.level` (default `info`) writing to `options.sink` (default: pretty lines on the console; jsonSink for JSON lines). */
export function createLogger(component: string, options: { level?: LogLevel; sink?: LogSink } = {}): Logger {
  const level = options.level ?? 'info';
  const sink = options.sink ?? consoleSink;
  const threshold = LEVEL_RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[lvl] < threshold) return;
    sink({ time: new Date().toISOString(), level: lvl, component, msg, ...fields });
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => createLogger(`${component}.${sub}`, { level, sink }),
  };
}
