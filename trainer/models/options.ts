/** Checks an architecture's options against its documented defaults, naming the offending option. */
import { ConfigError } from '../../core/index.js';

/**
 * Fills `defaults` from `input`, refusing options the architecture does not have and values of
 * the wrong type. Range checks are the architecture's own.
 */
export function resolveModelOptions<T extends Record<string, unknown>>(model: string, defaults: T, input: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(input)) {
    if (!(key in defaults)) {
      throw new ConfigError(`${model} has no option '${key}' (options: ${Object.keys(defaults).join(', ') || 'none'})`);
    }
    if (value !== undefined && typeof value !== typeof defaults[key]) {
      throw new ConfigError(`${model} option '${key}' must be a ${typeof defaults[key]}, got ${JSON.stringify(value)}`);
    }
  }
  return { ...defaults, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as T;
}
