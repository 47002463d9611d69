/** The tfjs wasm backend in Node (single-threaded SIMD build), with edgeseg's gradient kernels. */
import { tf } from '../tfjs.js';

const EMSCRIPTEN_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Activates the wasm backend. Emscripten's Node glue installs process-wide handlers that rethrow
 * every uncaught error with the whole minified module as context; they are removed so errors
 * print as themselves.
 */
export async function activateWasm(): Promise<void> {
  const listeners = (event: string) => process.listeners(event as 'uncaughtException') as ((...args: unknown[]) => void)[];
  const before = new Map(EMSCRIPTEN_EVENTS.map((e) => [e, new Set(listeners(e))]));
  const ok = await tf.setBackend('wasm');
  for (const event of EMSCRIPTEN_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  if (!ok) throw new Error('the wasm backend failed to initialise');
}
