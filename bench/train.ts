/**
 * bench:train — time per training step of unet-small (base 16, depth 4, 128², batch 8) on every
 * backend available here, measured in one run. Ends with `wasm/cpu speedup: <x>x`. Writes
 * bench/out/train.json and train.md.
 *
 *   npm run bench:train [-- --steps 5 --cpu-steps 1 --webgpu-software]
 *
 * The cpu backend takes minutes per step, so it runs `--cpu-steps` (default 1) timed steps after
 * no warm-up (it has no kernels to compile). WebGPU runs only on a hardware adapter unless
 * `--webgpu-software` asks for a software one (SwiftShader: correct, not a GPU figure).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { INPUT_SIZE } from '../core/index.js';
import { activateWasm } from '../core/node/backends/wasm.js';
import { activateWebgpu, gpuDevicePresent, probeWebgpu } from '../core/node/backends/webgpu.js';
import { sparseCrossEntropy } from '../trainer/loss.js';
import { buildModel } from '../trainer/models/index.js';
import { seedWeights } from '../trainer/models/init.js';
import { tf } from '../core/node/tfjs.js';
import { tinyBatch } from './helpers/train_steps.js';
import { BENCH_MODEL, gflopOf } from './helpers/models.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    'cpu-steps': { type: 'string', default: '1' },
    batch: { type: 'string', default: '8' },
    'webgpu-software': { type: 'boolean', default: false },
  },
});
const BATCH = Number(args.batch);
const CONFIG = BENCH_MODEL;

interface Row {
  backend: string;
  adapter?: string;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** Training FLOP rate, counting a step as 3× the forward FLOPs. */
  gflops: number;
}

async function measure(backend: string, steps: number, warmup: number, flops: number, data: { images: Float32Array; masks: Int32Array }): Promise<Omit<Row, 'backend' | 'adapter'>> {
  const { model } = buildModel('unet-small', CONFIG);
  seedWeights(model, 1);
  const xs = tf.tensor4d(data.images, [BATCH, INPUT_SIZE, INPUT_SIZE, 3]);
  const ys = tf.tensor3d(data.masks, [BATCH, INPUT_SIZE, INPUT_SIZE], 'int32');
  const optimizer = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = async () => {
    const loss = optimizer.minimize(() => sparseCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor4D, ys), true, vars)!;
    await loss.data();
    loss.dispose();
  };
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
    process.stderr.write(`  ${backend} step ${i + 1}/${steps}: ${times.at(-1)!.toFixed(0)} ms\n`);
  }
  tf.dispose([xs, ys]);
  optimizer.dispose();
  model.dispose();
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  return { steps, msPerStep: ms, imagesPerSecond: (BATCH * 1000) / ms, gflops: (3 * flops * BATCH) / (ms * 1e6) };
}

const flops = gflopOf('unet-small', CONFIG) * 1e9;
await tf.setBackend('cpu');
const data = tinyBatch(BATCH);
const rows: Row[] = [];
const notes: string[] = [];
console.log(`unet-small ${JSON.stringify(CONFIG)}, ${INPUT_SIZE}², batch ${BATCH}, ${(flops / 1e9).toFixed(3)} GFLOP per forward frame; ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`);

await activateWasm();
rows.push({ backend: 'wasm', ...(await measure('wasm', Number(args.steps), 2, flops, data)) });

if (gpuDevicePresent()) {
  const probe = await probeWebgpu();
  if (probe && (!probe.software || args['webgpu-software'])) {
    const adapter = await activateWebgpu();
    rows.push({ backend: 'webgpu', adapter: adapter.description + (adapter.software ? ' (software)' : ''), ...(await measure('webgpu', Number(args.steps), 2, flops, data)) });
  } else {
    notes.push(`webgpu skipped: ${probe ? `${probe.description} is a software adapter (pass --webgpu-software to time it anyway)` : 'no adapter'}`);
  }
} else {
  notes.push('webgpu skipped: no GPU device on this machine');
}

await tf.setBackend('cpu');
rows.push({ backend: 'cpu', ...(await measure('cpu', Number(args['cpu-steps']), 0, flops, data)) });

const wasm = rows.find((r) => r.backend === 'wasm')!;
const cpu = rows.find((r) => r.backend === 'cpu')!;
const speedup = cpu.msPerStep / wasm.msPerStep;
const table = [
  '| backend | adapter | timed steps | ms/step (median) | images/s | training GFLOP/s |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.backend} | ${r.adapter ?? '-'} | ${r.steps} | ${r.msPerStep.toFixed(0)} | ${r.imagesPerSecond.toFixed(2)} | ${r.gflops.toFixed(2)} |`),
].join('\n');
console.log(`\n${table}\n`);
for (const n of notes) console.log(n);
mkdirSync('bench/out', { recursive: true });
const result = { bench: 'train', machine: { cpu: cpus()[0]?.model, cores: availableParallelism() }, model: { name: 'unet-small', ...CONFIG, batch: BATCH, forwardGflopPerFrame: flops / 1e9 }, rows, notes, wasmOverCpu: speedup, measured: new Date().toISOString() };
writeFileSync('bench/out/train.json', JSON.stringify(result, null, 2));
writeFileSync(
  'bench/out/train.md',
  `# Training step time\n\nunet-small base 16 depth 4, 128², batch ${BATCH} (${(flops / 1e9).toFixed(3)} GFLOP per forward frame) on ${result.machine.cpu} × ${result.machine.cores}, measured ${result.measured}.\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n**wasm/cpu speedup: ${speedup.toFixed(1)}x** (same run)\n`,
);
console.log(`wasm/cpu speedup: ${speedup.toFixed(1)}x`);
