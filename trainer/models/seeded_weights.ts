/**
 * Seeded, platform-independent weight initialisation. tfjs' own initialisers are unseeded by
 * default; this re-draws every kernel from its layer's configured initialiser with edgeseg's
 * PRNG (core/random.ts), so a run with the same seed starts from the same weights everywhere.
 * Biases and BatchNorm parameters keep their constant initial values.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createRandom, hashSeed, hashString, type Random } from '../../core/random.js';
import { tf } from '../../core/node/tfjs.js';

interface InitializerJson {
  className: string;
  config: { scale?: number; mode?: 'fanIn' | 'fanOut' | 'fanAvg'; distribution?: 'normal' | 'uniform' | 'truncatedNormal'; mean?: number; stddev?: number; value?: number };
}

const KERNEL_INITIALIZERS: Record<string, string> = { kernel: 'kernelInitializer', depthwise_kernel: 'depthwiseInitializer' };

/** Standard normal by Box–Muller. */
function gaussian(rand: Random): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Keras' fans of a channels-last kernel: receptive field × second-to-last / last dimension. */
function fans(shape: number[]): { fanIn: number; fanOut: number } {
  const field = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: field * shape[shape.length - 2], fanOut: field * shape[shape.length - 1] };
}

function draw(init: InitializerJson, shape: number[], rand: Random): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const c = init.config;
  switch (init.className) {
    case 'Zeros':
      return out;
    case 'Ones':
      return out.fill(1);
    case 'Constant':
      return out.fill(c.value ?? 0);
    case 'RandomNormal':
      for (let i = 0; i < n; i++) out[i] = (c.mean ?? 0) + (c.stddev ?? 0.05) * gaussian(rand);
      return out;
    case 'VarianceScaling': {
      const { fanIn, fanOut } = fans(shape);
      const fan = c.mode === 'fanOut' ? fanOut : c.mode === 'fanAvg' ? (fanIn + fanOut) / 2 : fanIn;
      const variance = (c.scale ?? 1) / Math.max(1, fan);
      if (c.distribution === 'uniform') {
        const limit = Math.sqrt(3 * variance);
        for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * limit;
      } else {
        // Truncated at 2σ; 0.8796 is the std of a unit normal truncated there (Keras' correction).
        const std = Math.sqrt(variance) / 0.8796256610342398;
        for (let i = 0; i < n; i++) {
          let v: number;
          do v = gaussian(rand);
          while (Math.abs(v) > 2);
          out[i] = v * std;
        }
      }
      return out;
    }
    default:
      throw new Error(`seedWeights: no seeded version of the ${init.className} initializer`);
  }
}

/** Re-initialises every kernel of `model` from `seed`; each weight draws from its own stream. */
export function seedWeights(model: LayersModel, seed: number): void {
  for (const layer of model.layers) {
    const config = layer.getConfig() as Record<string, unknown>;
    for (const w of layer.weights) {
      const param = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
      const key = KERNEL_INITIALIZERS[param];
      if (!key || !config[key]) continue;
      const values = draw(config[key] as InitializerJson, w.shape as number[], createRandom(hashSeed(seed, hashString(w.originalName))));
      const t = tf.tensor(values, w.shape as number[]);
      w.write(t);
      t.dispose();
    }
  }
}
