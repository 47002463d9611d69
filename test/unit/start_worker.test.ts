import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startWorker, workerEntry } from '../../core/node/start_worker.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

/** A worker module that answers with what it was started with. */
const ECHO = "import { parentPort, workerData } from 'node:worker_threads';\nparentPort.postMessage({ data: workerData.data, module: workerData.module, ts: typeof ({} satisfies object) });\n";

function firstMessage(worker: ReturnType<typeof startWorker>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: Record<string, unknown>) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

describe('startWorker', () => {
  it('runs the compiled .js module directly when it exists', async () => {
    const dir = tempDir('start-worker-js');
    writeFileSync(join(dir, 'echo.js'), "import { parentPort, workerData } from 'node:worker_threads';\nparentPort.postMessage({ data: workerData.data, module: workerData.module });\n");
    const url = pathToFileURL(join(dir, 'echo.js'));
    assert.deepEqual(workerEntry(url), { entry: url, module: url, viaLoader: false });
    const m = await firstMessage(startWorker(url, { n: 7 }));
    assert.deepEqual(m, { data: { n: 7 }, module: url.href });
  });

  it('runs the .ts source beside a missing .js through the tsx bootstrap (a checkout)', async () => {
    const dir = tempDir('start-worker-ts');
    writeFileSync(join(dir, 'echo.ts'), ECHO);
    const url = pathToFileURL(join(dir, 'echo.js'));
    const entry = workerEntry(url);
    assert.equal(entry.viaLoader, true);
    assert.equal(entry.module.href, pathToFileURL(join(dir, 'echo.ts')).href);
    const m = await firstMessage(startWorker(url, 'hello'));
    assert.deepEqual(m, { data: 'hello', module: entry.module.href, ts: 'object' });
  });

  it('names the module when neither the .js nor its .ts source exists', () => {
    const url = pathToFileURL(join(tempDir('start-worker-none'), 'missing.js'));
    assert.throws(() => workerEntry(url), (e: Error & { code?: string }) => e.code === 'WORKER_MODULE_MISSING' && e.message.includes('missing.js'));
  });
});
