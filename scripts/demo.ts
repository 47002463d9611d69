/**
 * `npm run demo`: builds the demo app (Vite) and serves it with the model registry on localhost.
 *
 *   tsx scripts/demo.ts [--port 5173] [--models models]
 */
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { startWebServer } from './web_server.js';

/** Builds dist/web and serves it with `models`; resolves with the demo's URL. */
export async function serveDemo(o: { models?: string; port?: number } = {}): Promise<{ url: string; close(): Promise<void> }> {
  await build({ logLevel: 'error' });
  const server = await startWebServer({ models: o.models, port: o.port });
  return { url: `${server.url}/demo/`, close: server.close };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5173' }, models: { type: 'string', default: 'models' } } });
  const demo = await serveDemo({ models: values.models, port: Number(values.port) });
  console.log(`demo: ${demo.url} (Ctrl-C to stop)`);
}
