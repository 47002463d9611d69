/**
 * The native TensorFlow backend: `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, when the
 * user installed one. They are never dependencies of edgeseg (their install downloads
 * libtensorflow), so they are looked up at run time.
 */
import { tf } from '../tfjs.js';

const PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export async function activateTensorflow(): Promise<{ package: string }> {
  const failures: string[] = [];
  for (const pkg of PACKAGES) {
    try {
      await import(pkg);
    } catch (err) {
      const code = (err as { code?: string }).code;
      failures.push(code === 'ERR_MODULE_NOT_FOUND' ? `${pkg} not installed` : `${pkg}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (!tf.findBackendFactory('tensorflow')) {
      failures.push(`${pkg} loaded but registered no 'tensorflow' backend with edgeseg's @tensorflow/tfjs-core ${tf.version_core} (version mismatch)`);
      continue;
    }
    if (await tf.setBackend('tensorflow')) return { package: pkg };
    failures.push(`${pkg} failed to initialise`);
  }
  throw new Error(failures.join('; '));
}
