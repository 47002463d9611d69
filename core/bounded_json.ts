/**
 * JSON from files and records that nobody vouches for, parsed with a bound on nesting. V8's
 * JSON.parse takes 200 000 nested arrays in its stride, but every recursive walk after it
 * (zod, JSON.stringify, a config walker) overflows the stack on them with a RangeError no caller
 * expects. The depth is counted in one pass over the text before anything is parsed, so the
 * refusal costs no more than reading the text. Platform-free.
 */
import type { EdgesegError } from './errors.js';

/** Deepest nesting of objects and arrays accepted (Keras configs nest a few dozen levels at most). @default 256 */
export const MAX_JSON_DEPTH = 256;

/** The deepest nesting of `text`'s objects and arrays, counting stops past `limit`; brackets inside strings do not count. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * JSON text → value, nested at most `maxDepth` deep; too deep or not JSON throws `fail(message)`
 * (the caller's named error), the message saying which.
 */
export function parseJsonBounded(text: string, where: string, fail: (message: string) => EdgesegError, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) throw fail(`${where} nests objects or arrays more than ${maxDepth} deep`);
  try {
    return JSON.parse(text);
  } catch {
    throw fail(`${where} is not valid JSON`);
  }
}
