/**
 * bench:train — images/s of one training step of both architectures (batch 8, 128²) on wasm, with
 * 1 and N data-parallel workers measured in interleaved rounds, optionally a per-kernel profile
 * of the step (`--profile`), and the same models trained by Keras/TensorFlow on the same CPU as an
 * anchor (bench/anchors/keras_train.py in a venv under .cache/, skipped with the reason when
 * tensorflow-cpu cannot be installed). Ends with one line per model `<model> workers N/1: <x>x`
 * and one `edgeseg/keras <model>: <x>x`. Writes bench/out/train.json and train.md.
 *
 *   npm run bench:train [-- --profile --rounds 2 --steps 3 --warmup 30 --workers 2 --models unet-small --skip-keras --webgpu-software]
 *                       [-- --real-pets ../shared/data/oxford-pets-subset --real-steps 24]
 *
 * `--real-pets <Oxford dir>` also times the real training command's step: the shipped pets
 * model's architecture trained by `train()` on those labelled photos, 1 vs N workers
 * (bench/helpers/real_pets_speed.ts), and prints `pets (real photos) workers N/1: <x>x`.
 *
 * WebGPU (one thread, unet-small) runs only on a hardware adapter unless `--webgpu-software`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { INPUT_SIZE } from '../core/index.js';
import { parseDatasetSpecs } from '../core/dataset_spec.js';
import { activateWasm } from '../core/node/backends/wasm.js';
import { stopOrtConvolutions, useOrtConvolutions } from '../core/node/wasm_kernels/ort/conv_kernels.js';
import { activateWebgpu, gpuDevicePresent, probeWebgpu } from '../core/node/backends/webgpu.js';
import { threadCpuMs } from '../core/node/thread_cpu.js';
import { tf } from '../core/node/tfjs.js';
import type { SampleSet } from '../datasets/dataset.js';
import { loadSample } from '../datasets/load_sample.js';
import { batches } from '../datasets/pipeline.js';
import type { LoadedSample } from '../datasets/sample_types.js';
import { listSources } from '../datasets/sources/index.js';
import { buildModel } from '../trainer/models/index.js';
import { seedWeights } from '../trainer/models/seeded_weights.js';
import { adam } from '../trainer/fused_adam.js';
import { startReplicas } from '../trainer/parallel/replica_group.js';
import { inProcessSteps, type StepRunner } from '../trainer/step_runner.js';
import { kerasAnchor, runKeras } from './helpers/keras_anchor.js';
import { BENCH_MODEL, gflopOf } from './helpers/models.js';
import { gradientKernelsBeforeAfter, type BeforeAfter } from './helpers/kernel_ab.js';
import { profileStep, type KernelTime } from './helpers/step_profile.js';
import { realPetsSpeed } from './helpers/real_pets_speed.js';
import { BENCH_OUT, benchOut } from './helpers/smoke.js';
import { tinyBatch } from './helpers/train_steps.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '30' },
    batch: { type: 'string', default: '8' },
    workers: { type: 'string', default: String(availableParallelism()) },
    models: { type: 'string', default: 'unet-small,unet-mobilenetv2' },
    profile: { type: 'boolean', default: false },
    'skip-keras': { type: 'boolean', default: false },
    'keras-steps': { type: 'string', default: '5' },
    'webgpu-software': { type: 'boolean', default: false },
    'real-pets': { type: 'string' },
    'real-steps': { type: 'string', default: '24' },
  },
});
const BATCH = Number(args.batch);
const WARMUP = Math.max(1, Number(args.warmup));
const WORKERS = Number(args.workers);
const STEPS = Number(args.steps);
const ROUNDS = Number(args.rounds);
const CONFIGS: Record<string, Record<string, unknown>> = { 'unet-small': BENCH_MODEL, 'unet-mobilenetv2': {} };
const MODELS = args.models.split(',').filter((m) => m in CONFIGS);
const PROFILE_TOP = 10;

/** Where a row's dense convolutions ran: onnxruntime (the trainer's default on wasm) or the wasm kernels alone. */
type Convolutions = 'onnxruntime' | 'wasm';

interface Row {
  workers: number;
  steps: number;
  msPerStep: number;
  imagesPerSecond: number;
  /** Training FLOP rate, counting a step as 3× the forward FLOPs. */
  gflops: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (workers: number, times: number[], gflop: number): Row => {
  const ms = median(times);
  return { workers, steps: times.length, msPerStep: ms, imagesPerSecond: (BATCH * 1000) / ms, gflops: (3 * gflop * BATCH * 1000) / ms };
};

function fresh(name: string) {
  const { model } = buildModel(name, CONFIGS[name]);
  seedWeights(model, 1);
  // The trainer's optimizer (fused on wasm; the same bits as tf.train.adam).
  return { model, optimizer: adam(1e-3) };
}

/** GFLOP/s of the step's forward dense (Conv2D, FusedConv2D) and depthwise convolutions. */
interface ForwardKindGflops {
  conv: number;
  depthwise: number;
}

/** The forward rate a gradient kernel is held against: depthwise gradients the depthwise forward, the rest the dense one. */
function kindRate(kernel: string, rates: ForwardKindGflops): number {
  const rate = kernel.startsWith('Depthwise') ? rates.depthwise : rates.conv;
  return rate > 0 ? rate : 0;
}

/** 1 vs N workers on the same batch, alternating which goes first each round. */
async function measureWorkers(name: string, gflop: number): Promise<{ rows: (Row & { cpuMsPerStep: number; convolutions: Convolutions })[]; sync: { barriersPerStep: number; medianBlockedMsPerReplica: number; medianStepMsPerReplica: number; medianThreadCpuMsPerReplica: number | null; medianOtherThreadsCpuMs: number | null } | null; profile?: { phaseMs: Record<string, number>; top: KernelTime[]; forwardConvGflops: number; forwardKindGflops: ForwardKindGflops; beforeAfter: BeforeAfter[] } }> {
  const data = tinyBatch(BATCH);
  const batch = { images: data.images, masks: data.masks, size: BATCH, ids: [] };
  const one = fresh(name);
  const many = fresh(name);
  const onThread = inProcessSteps(one.model, one.optimizer);
  // Each runner: its workers, where its convolutions run, the runner. The wasm-only one is the same
  // one-thread runner with onnxruntime's convolutions switched off around its steps.
  const runners: { workers: number; convolutions: Convolutions; runner: StepRunner }[] = [{ workers: 1, convolutions: ORT ? 'onnxruntime' : 'wasm', runner: onThread }];
  if (ORT) {
    runners.push({
      workers: 1,
      convolutions: 'wasm',
      runner: {
        ...onThread,
        step: async (b, lr) => {
          stopOrtConvolutions();
          try {
            return await onThread.step(b, lr);
          } finally {
            useOrtConvolutions();
          }
        },
      },
    });
  }
  const replicas = WORKERS > 1 ? await startReplicas({ workers: WORKERS, backend: 'wasm', model: many.model, optimizer: many.optimizer, learningRate: 1e-3, batchSize: BATCH }) : null;
  if (replicas) runners.push({ workers: WORKERS, convolutions: ORT ? 'onnxruntime' : 'wasm', runner: replicas });
  const times = runners.map((): number[] => []);
  const cpu = runners.map((): number[] => []);
  const waits: number[] = [];
  const replicaMs: number[] = [];
  const replicaCpu: number[] = [];
  // Process CPU of an N-worker step less its replicas' and this thread's: V8's helper threads (GC, compiler).
  const otherCpu: number[] = [];
  let barriers = 0;
  try {
    // Warm-up: kernels, XNNPACK operator caches, onnxruntime sessions, and V8's optimising compiler,
    // which in two busy replicas takes 30–50 steps to settle (its threads share the cores with them).
    for (const { runner } of runners) for (let s = 0; s < WARMUP; s++) await runner.step(batch, 1e-3);
    for (let round = 0; round < ROUNDS; round++) {
      const order = runners.map((_, i) => i);
      for (const i of round % 2 ? order.reverse() : order) {
        const { workers, convolutions, runner: r } = runners[i];
        for (let s = 0; s < STEPS; s++) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          const main0 = threadCpuMs();
          await r.step(batch, 1e-3);
          times[i].push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          const main1 = threadCpuMs();
          cpu[i].push((c.user + c.system) / 1000);
          const sync = workers > 1 && replicas ? replicas.lastStep : [];
          if (sync.length && main0 !== null && main1 !== null && sync.every((x) => x.cpuMs !== null)) {
            otherCpu.push((c.user + c.system) / 1000 - (main1 - main0) - sync.reduce((a, x) => a + x.cpuMs!, 0));
          }
          for (const r of sync) {
            waits.push(r.waitedMs);
            replicaMs.push(r.ms);
            if (r.cpuMs !== null) replicaCpu.push(r.cpuMs);
          }
          barriers = sync[0]?.barriers ?? barriers;
          process.stderr.write(`  ${name} ${workers} worker(s), ${convolutions} convolutions, round ${round + 1} step ${s + 1}: ${times[i].at(-1)!.toFixed(0)} ms${sync.length ? ` (blocked in ${barriers} barriers: ${sync.map((r) => r.waitedMs.toFixed(0)).join(' / ')} ms)` : ''}\n`);
        }
      }
    }
    let profile;
    if (args.profile) {
      const xs = tf.tensor4d(data.images, [BATCH, INPUT_SIZE, INPUT_SIZE, 3]);
      const ys = tf.tensor3d(data.masks, [BATCH, INPUT_SIZE, INPUT_SIZE], 'int32');
      const p = await profileStep(one.model, one.optimizer, xs, ys);
      const beforeAfter = gradientKernelsBeforeAfter(one.model, xs, ys);
      tf.dispose([xs, ys]);
      // The forward convolutions' rate: what the gradient kernels are measured against.
      const forwardConv = p.kernels.filter((k) => k.phase === 'forward' && /^(Fused)?(Conv2D|DepthwiseConv2D|DepthwiseConv2dNative)$/.test(k.kernel));
      const forwardConvGflops = (1000 * forwardConv.reduce((a, k) => a + k.gflop, 0)) / Math.max(1e-9, forwardConv.reduce((a, k) => a + k.ms, 0));
      // And per kind: a depthwise gradient against the forward depthwise convolutions (memory-bound,
      // XNNPACK's own run well below the dense ones), a dense one against the dense ones.
      const rateOf = (re: RegExp) => {
        const ks = forwardConv.filter((k) => re.test(k.kernel));
        return (1000 * ks.reduce((a, k) => a + k.gflop, 0)) / Math.max(1e-9, ks.reduce((a, k) => a + k.ms, 0));
      };
      const forwardKindGflops = { conv: rateOf(/^(Fused)?Conv2D$/), depthwise: rateOf(/^Depthwise/) };
      profile = { phaseMs: p.phaseMs, top: p.kernels.slice(0, PROFILE_TOP), forwardConvGflops, forwardKindGflops, beforeAfter };
    }
    return { rows: runners.map(({ workers, convolutions }, i) => ({ ...row(workers, times[i], gflop), convolutions, cpuMsPerStep: median(cpu[i]) })), sync: waits.length ? { barriersPerStep: barriers, medianBlockedMsPerReplica: median(waits), medianStepMsPerReplica: median(replicaMs), medianThreadCpuMsPerReplica: replicaCpu.length ? median(replicaCpu) : null, medianOtherThreadsCpuMs: otherCpu.length ? Math.max(0, median(otherCpu)) : null } : null, profile };
  } finally {
    // The wasm-only runner is the one-thread runner itself; closing it twice is harmless.
    for (const { runner } of runners) await runner.close();
    for (const m of [one, many]) {
      m.optimizer.dispose();
      m.model.dispose();
    }
  }
}

/** The data pipeline's cost per batch on the loop's thread, and JPEG/PNG decoding per image. */
async function measureData(): Promise<{ batchAssemblyMs: number; decodeMsPerImage: number | null }> {
  const refs = listSources(parseDatasetSpecs('oxford:data/oxford-pets-sample')).refs.slice(0, 16);
  const t0 = performance.now();
  const samples: LoadedSample[] = [];
  for (const ref of refs) {
    try {
      samples.push(await loadSample(ref));
    } catch {
      // a sample the dataset would skip (the sample folder keeps a few on purpose)
    }
  }
  const decodeMsPerImage = samples.length ? (performance.now() - t0) / samples.length : null;
  const set: SampleSet = { ids: samples.map((s) => s.id), size: samples.length, get: async (i) => samples[i] };
  const t1 = performance.now();
  let n = 0;
  for await (const b of batches(set, { batchSize: BATCH, shuffleBuffer: 1000, flip: true, seed: 1 })) n += b.size > 0 ? 1 : 0;
  return { batchAssemblyMs: (performance.now() - t1) / Math.max(1, n), decodeMsPerImage };
}

const machine = { cpu: cpus()[0]?.model ?? 'cpu', cores: availableParallelism() };
const loadBefore = loadavg();
console.log(`bench:train — batch ${BATCH} at ${INPUT_SIZE}², wasm, 1 vs ${WORKERS} workers, ${ROUNDS} interleaved rounds × ${STEPS} steps; ${machine.cpu} × ${machine.cores}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
await activateWasm();
// The trainer's wasm backend (selectBackend): dense convolutions in onnxruntime unless EDGESEG_ORT_CONVOLUTIONS=0.
const ORT = useOrtConvolutions();
const models = [];
const notes: string[] = [];
for (const name of MODELS) {
  const gflop = gflopOf(name, CONFIGS[name]);
  const m = await measureWorkers(name, gflop);
  models.push({ name, config: CONFIGS[name], forwardGflopPerFrame: gflop, ...m, keras: [] as { threads: number; msPerStep: number; cpuMsPerStep: number; imagesPerSecond: number; tensorflow: string; keras: string }[] });
}
const data = await measureData();

const anchor = args['skip-keras'] ? { skipped: '--skip-keras' } : kerasAnchor((l) => console.log(l));
if ('skipped' in anchor) {
  notes.push(`keras anchor skipped: ${anchor.skipped}`);
} else {
  for (const [i, m] of models.entries()) {
    const threads = i % 2 ? [WORKERS, 1] : [1, WORKERS];
    for (const t of [...new Set(threads)]) {
      try {
        const base = m.name === 'unet-small' ? (BENCH_MODEL as { baseFilters: number; depth: number }) : { baseFilters: 16, depth: 4 };
        const k = runKeras(anchor.python, { model: m.name, threads: t, batch: BATCH, steps: Number(args['keras-steps']), warmup: 2, ...base });
        m.keras.push({ threads: t, msPerStep: k.msPerStep, cpuMsPerStep: k.cpuMsPerStep, imagesPerSecond: (BATCH * 1000) / k.msPerStep, tensorflow: k.tensorflow, keras: k.keras });
        process.stderr.write(`  keras ${m.name} ${t} thread(s): ${k.msPerStep.toFixed(0)} ms\n`);
      } catch (err) {
        notes.push(`keras ${m.name} × ${t}: ${(err as Error).message}`);
      }
    }
  }
}

const webgpu: { adapter: string; msPerStep: number; imagesPerSecond: number }[] = [];
if (gpuDevicePresent()) {
  const probe = await probeWebgpu();
  if (probe && (!probe.software || args['webgpu-software'])) {
    const adapter = await activateWebgpu();
    const m = fresh('unet-small');
    const r = inProcessSteps(m.model, m.optimizer);
    const d = tinyBatch(BATCH);
    const b = { images: d.images, masks: d.masks, size: BATCH, ids: [] };
    await r.step(b, 1e-3);
    const times: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const t0 = performance.now();
      await r.step(b, 1e-3);
      times.push(performance.now() - t0);
    }
    m.optimizer.dispose();
    m.model.dispose();
    webgpu.push({ adapter: adapter.description + (adapter.software ? ' (software)' : ''), msPerStep: median(times), imagesPerSecond: (BATCH * 1000) / median(times) });
  } else {
    notes.push(`webgpu skipped: ${probe ? `${probe.description} is a software adapter (pass --webgpu-software to time it anyway)` : 'no adapter'}`);
  }
} else {
  notes.push('webgpu skipped: no GPU device on this machine');
}
notes.push("tensorflow backend (tfjs-node) not measured here: it is not a dependency; `edgeseg train --backend tensorflow` uses it when installed");

const loadAfter = loadavg();
const ratios: Record<string, number> = {};
/** The trainer's own rows (its default convolutions), not the wasm-only comparison. */
const trainerRows = (m: { rows: { convolutions: Convolutions }[] }) => m.rows.filter((r) => r.convolutions === (ORT ? 'onnxruntime' : 'wasm')) as (Row & { cpuMsPerStep: number; convolutions: Convolutions })[];
for (const m of models) {
  const one = trainerRows(m).find((r) => r.workers === 1)!;
  const many = trainerRows(m).find((r) => r.workers === WORKERS);
  if (many && WORKERS > 1) ratios[`${m.name} workers ${WORKERS}/1`] = many.imagesPerSecond / one.imagesPerSecond;
  const wasmOnly = ORT ? m.rows.find((r) => r.convolutions === 'wasm') : undefined;
  if (wasmOnly) ratios[`${m.name} onnxruntime/wasm convolutions, 1 worker`] = one.imagesPerSecond / wasmOnly.imagesPerSecond;
}
for (const m of models) {
  const keras = m.keras.find((k) => k.threads === WORKERS) ?? m.keras.at(-1);
  const ours = trainerRows(m).find((r) => r.workers === (keras?.threads ?? WORKERS)) ?? trainerRows(m).at(-1)!;
  if (keras) ratios[`edgeseg/keras ${m.name}`] = ours.imagesPerSecond / keras.imagesPerSecond;
}

const table = [
  '| model | trainer | threads | ms / step (median) | images / s | GFLOP/s (≈ 3× fwd) | CPU ms / step (all threads) |',
  '|---|---|---|---|---|---|---|',
  ...models.flatMap((m) => [
    ...m.rows.map((r) => `| ${m.name} | edgeseg wasm${r.convolutions === 'onnxruntime' ? ' + onnxruntime conv' : ''} | ${r.workers} | ${r.msPerStep.toFixed(0)} | ${r.imagesPerSecond.toFixed(2)} | ${r.gflops.toFixed(2)} | ${r.cpuMsPerStep.toFixed(0)} |`),
    ...m.keras.map((k) => `| ${m.name} | Keras ${k.keras} / TF ${k.tensorflow} | ${k.threads} | ${k.msPerStep.toFixed(0)} | ${k.imagesPerSecond.toFixed(2)} | ${((3 * m.forwardGflopPerFrame * BATCH * 1000) / k.msPerStep).toFixed(2)} | ${k.cpuMsPerStep.toFixed(0)} |`),
  ]),
  ...webgpu.map((w) => `| unet-small | edgeseg webgpu (${w.adapter}) | - | ${w.msPerStep.toFixed(0)} | ${w.imagesPerSecond.toFixed(2)} | - | - |`),
].join('\n');
/** The Keras anchor's whole-step rate in this run, beside which the kernel rates are read. */
function kerasGflops(m: { forwardGflopPerFrame: number; keras: { threads: number; msPerStep: number; cpuMsPerStep: number; keras: string }[] }): string {
  const k = m.keras.find((r) => r.threads === 1);
  if (!k) return '';
  const gflops = (3 * m.forwardGflopPerFrame * BATCH * 1000) / k.msPerStep;
  const perCpu = (3 * m.forwardGflopPerFrame * BATCH * 1000) / k.cpuMsPerStep;
  return `; Keras ${k.keras} on 1 thread ran the whole step at ${gflops.toFixed(1)} GFLOP/s wall, ${perCpu.toFixed(1)} per CPU-second (same run, ≈ 3× forward FLOPs)`;
}

const profiles = models
  .filter((m) => m.profile)
  .map((m) => {
    const p = m.profile!;
    const total = p.phaseMs.forward + p.phaseMs.backward + p.phaseMs.optimizer;
    return [
      `Profile of one ${m.name} step on wasm${ORT ? " with onnxruntime's convolutions" : ""}, one thread (${total.toFixed(0)} ms in kernels: forward ${p.phaseMs.forward.toFixed(0)}, backward ${p.phaseMs.backward.toFixed(0)}, optimizer ${p.phaseMs.optimizer.toFixed(0)}), top ${PROFILE_TOP}:`,
      '',
      '| phase | kernel | calls | ms | share | GFLOP/s |',
      '|---|---|---|---|---|---|',
      ...p.top.map((k) => `| ${k.phase} | ${k.kernel} | ${k.calls} | ${k.ms.toFixed(0)} | ${((100 * k.ms) / total).toFixed(1)}% | ${k.gflop ? ((1000 * k.gflop) / k.ms).toFixed(1) : '-'} |`),
      '',
      `Gradient kernels of the same step, previous round's kernel vs this one, each call replayed with fresh inputs and the two alternating (CPU ms, median of 3); forward convolutions of the step ran at ${p.forwardConvGflops.toFixed(1)} GFLOP/s (dense ${p.forwardKindGflops.conv.toFixed(1)}, depthwise ${p.forwardKindGflops.depthwise > 0 ? p.forwardKindGflops.depthwise.toFixed(1) : '-'})${kerasGflops(m)}:`,
      '',
      '| kernel | calls | before ms | before GFLOP/s | after ms | after GFLOP/s | after / forward conv | after / forward of its kind | speed-up |',
      '|---|---|---|---|---|---|---|---|---|',
      ...p.beforeAfter.map((r) => {
        const rate = (ms: number) => (r.gflop ? ((1000 * r.gflop) / ms).toFixed(1) : '-');
        const kind = kindRate(r.kernel, p.forwardKindGflops);
        return `| ${r.kernel} | ${r.calls} | ${r.beforeMs.toFixed(1)} | ${rate(r.beforeMs)} | ${r.afterMs.toFixed(1)} | ${rate(r.afterMs)} | ${r.gflop ? `${((1000 * r.gflop) / r.afterMs / p.forwardConvGflops).toFixed(2)}x` : '-'} | ${r.gflop && kind ? `${((1000 * r.gflop) / r.afterMs / kind).toFixed(2)}x` : '-'} | ${(r.beforeMs / r.afterMs).toFixed(2)}x |`;
      }),
      `Sum of these: ${p.beforeAfter.reduce((a, r) => a + r.beforeMs, 0).toFixed(0)} ms before, ${p.beforeAfter.reduce((a, r) => a + r.afterMs, 0).toFixed(0)} ms after.`,
    ].join('\n');
  });
// Where a replica's step goes: computing (its thread's CPU time), blocked in barriers, and the
// rest, when the thread was runnable but the core ran someone else (other processes, or the
// other replica on a machine with fewer free cores than replicas).
const syncLines = models
  .filter((m) => m.sync)
  .map((m) => {
    const s = m.sync!;
    const cpu = s.medianThreadCpuMsPerReplica;
    const split = cpu === null ? '' : `; of its ${s.medianStepMsPerReplica.toFixed(0)} ms step (median) its thread ran ${cpu.toFixed(0)} ms of CPU, so ${Math.max(0, s.medianStepMsPerReplica - cpu - s.medianBlockedMsPerReplica).toFixed(0)} ms it was runnable without a core`;
    const others = s.medianOtherThreadsCpuMs === null ? '' : `; V8's helper threads (GC, compiler) used another ${s.medianOtherThreadsCpuMs.toFixed(0)} CPU-ms per step`;
    return `${m.name}: each of the ${WORKERS} replicas passes ${s.barriersPerStep} barriers per step and waits in them ${s.medianBlockedMsPerReplica.toFixed(0)} ms (median) of its step for the others${split}${others}.`;
  });
const dataLine = `Data pipeline on the loop's thread (overlapped with the replicas' step): batch assembly (shuffle, flip, copy) ${data.batchAssemblyMs.toFixed(1)} ms per batch of ${BATCH}; decoding ${data.decodeMsPerImage?.toFixed(1) ?? 'n/a'} ms per Oxford image (done once, in the decode pool, before training).`;
const loadLine = `Load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' / ')} on ${machine.cores} cores (other processes share this machine).`;
// On a machine shared with other work the wall-clock ratios depend on who else runs; CPU time per
// step does not, so it is reported beside them (same work per step on both sides).
for (const m of models) {
  const one = trainerRows(m).find((r) => r.workers === 1)!;
  const k1 = m.keras.find((k) => k.threads === 1);
  if (k1) notes.push(`${m.name}: CPU time per step, edgeseg 1 thread ${one.cpuMsPerStep.toFixed(0)} ms vs Keras 1 thread ${k1.cpuMsPerStep.toFixed(0)} ms (edgeseg/keras per CPU-second ${(k1.cpuMsPerStep / one.cpuMsPerStep).toFixed(2)}x)`);
  const many = trainerRows(m).find((r) => r.workers === WORKERS);
  if (many && WORKERS > 1) notes.push(`${m.name}: ${WORKERS} workers spend ${many.cpuMsPerStep.toFixed(0)} CPU-ms per step against ${one.cpuMsPerStep.toFixed(0)} for one thread (parallel overhead ${((100 * (many.cpuMsPerStep - one.cpuMsPerStep)) / one.cpuMsPerStep).toFixed(0)}%)`);
}
if (Math.max(loadBefore[0], loadAfter[0]) > machine.cores) {
  notes.push(
    `the machine was loaded (load average up to ${Math.max(loadBefore[0], loadAfter[0]).toFixed(1)} on ${machine.cores} cores): wall-clock ratios here say as much about the other processes as about the trainers; the CPU-time lines and the kernel tables (CPU time, before/after alternating) are the comparisons that hold`,
  );
}
// The real training command's step on real photos (optional): what a user's `edgeseg train` gets.
const realPets = args['real-pets'] ? await realPetsSpeed({ data: args['real-pets'], workers: WORKERS > 1 ? [1, WORKERS] : [1], steps: Number(args['real-steps']), warmup: WARMUP, rounds: ROUNDS, batch: 8 }) : null;
if (realPets) {
  notes.push(`pets model (${realPets.model} ${JSON.stringify(realPets.modelConfig)}) trained by train() on real photos (${args['real-pets']}), batch 8: ${realPets.rows.map((r) => `${r.workers} worker(s) ${r.msPerStep.toFixed(0)} ms per step, ${r.imagesPerSecond.toFixed(2)} images/s`).join('; ')}`);
  const one = realPets.rows.find((r) => r.workers === 1)!;
  const many = realPets.rows.find((r) => r.workers === WORKERS);
  if (many && WORKERS > 1) ratios[`pets (real photos) workers ${WORKERS}/1`] = one.msPerStep / many.msPerStep;
}
const ratioLines = Object.entries(ratios).map(([k, v]) => `${k}: ${v.toFixed(2)}x`);

console.log(`\n${table}\n`);
for (const p of profiles) console.log(`${p}\n`);
for (const l of syncLines) console.log(l);
console.log(dataLine);
console.log(loadLine);
for (const n of notes) console.log(n);
mkdirSync(BENCH_OUT, { recursive: true });
const result = { bench: 'train', machine, batch: BATCH, workers: WORKERS, rounds: ROUNDS, stepsPerRound: STEPS, warmupSteps: WARMUP, load: { before: loadBefore, after: loadAfter }, models, data, webgpu, realPets, notes, ratios, measured: new Date().toISOString() };
writeFileSync(benchOut('train.json'), JSON.stringify(result, null, 2));
writeFileSync(
  benchOut('train.md'),
  [`# Training throughput`, '', `Batch ${BATCH} at ${INPUT_SIZE}² on ${machine.cpu} × ${machine.cores}; 1 vs ${WORKERS} workers in ${ROUNDS} interleaved rounds of ${STEPS} steps; measured ${result.measured}.`, '', table, '', ...profiles.flatMap((p) => [p, '']), ...syncLines.flatMap((l) => [l, '']), dataLine, '', loadLine, '', ...notes.map((n) => `- ${n}`), '', ...ratioLines.map((l) => `**${l}**  `), ''].join('\n'),
);
for (const l of ratioLines) console.log(l);
