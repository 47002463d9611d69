/**
 * `npm run demo`: builds the demo app (Vite) and serves it with the model registry on localhost.
 *
 *   tsx scripts/demo.ts [--port 5173] [--models models]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { startWebServer } from './web_server.js';

/** Builds dist/web and serves it with `models`; resolves with the demo's URL. */
export async function serveDemo(o: { models?: string; port?: number; feedback?: { store: string; token: string } } = {}): Promise<{ url: string; close(): Promise<void> }> {
  await build({ logLevel: 'error' });
  const server = await startWebServer({ models: o.models, port: o.port, feedback: o.feedback });
  return { url: `${server.url}/demo/`, close: server.close };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5173' }, models: { type: 'string', default: 'models' }, feedback: { type: 'string', default: 'feedback' } } });
  const token = process.env.EDGESEG_FEEDBACK_TOKEN ?? randomBytes(12).toString('hex');
  const demo = await serveDemo({ models: values.models, port: Number(values.port), feedback: { store: values.feedback, token } });
  console.log(`demo: ${demo.url} (Ctrl-C to stop)`);
  console.log(`feedback: "correct this frame" posts to ${new URL('/feedback', demo.url).href} with token ${token} → ${values.feedback}/`);
}
