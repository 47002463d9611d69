/**
 * How errors cross a thread boundary (worker_threads, web workers over comlink): a plain object
 * that structured clone keeps, and back to an error with the same name, code, message, retriable
 * flag, stack and named fields (`file`, `reasons`). Every worker protocol uses this one codec.
 */
import { EdgesegError } from './errors.js';

/** An error as it crosses a thread or worker boundary (structured-clone safe). */
export interface SerializedError {
  name: string;
  message: string;
  /** `EdgesegError.code`; absent for errors edgeseg did not raise on purpose. */
  code?: string;
  retriable?: boolean;
  stack?: string;
  /** Named fields of edgeseg's error classes (`ChecksumError.file`, `BackendUnavailableError.reasons`). */
  fields: Record<string, unknown>;
}

/** Named fields carried across, besides name, code, message, retriable and stack. */
const FIELDS = ['file', 'reasons'] as const;

/** Any thrown value as a SerializedError, keeping name, code, message, retriable and stack. */
export function serializeError(value: unknown): SerializedError {
  const e = (value instanceof Error ? value : new Error(String(value))) as Error & { code?: unknown; retriable?: unknown };
  const fields: Record<string, unknown> = {};
  for (const key of FIELDS) if (key in e) fields[key] = (e as unknown as Record<string, unknown>)[key];
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.retriable === 'boolean' ? { retriable: e.retriable } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
    fields,
  };
}

/** An error rebuilt on the receiving side of a thread boundary. */
export class RemoteError extends EdgesegError {}

/** Rebuilds a serialized error; `fallbackCode` names errors that had no code (plain `Error`s). */
export function deserializeError(s: SerializedError, fallbackCode = 'WORKER_ERROR'): RemoteError {
  const e = new RemoteError(s.code ?? fallbackCode, s.message, { retriable: s.retriable });
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  Object.assign(e, s.fields);
  return e;
}
