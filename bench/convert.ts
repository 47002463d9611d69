/**
 * bench:convert — model size and held-out accuracy per precision, measured in one run.
 * Trains unet-small (base 16, depth 4) and unet-mobilenetv2 for a fixed number of steps on
 * synthetic data (or takes `--small`/`--mobilenet` model refs), converts each to fp32 (folded),
 * fp16, uint8 and mixed (0.5-point budget), and reports bytes, ratio to the fp32 parent, mIoU,
 * deltas, mask agreement and conversion time. Writes bench/out/convert.json and convert.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/index.js';
import { convert, type ConvertResult } from '../converter/convert.js';
import { BENCH_OUT, benchOut, SMOKE } from './helpers/smoke.js';
import { BENCH_DATA, BENCH_ROOT, trainedBenchModel } from './trained.js';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string' },
    mobilenet: { type: 'string' },
    'small-steps': { type: 'string', default: '240' },
    'mobilenet-steps': { type: 'string', default: '160' },
  },
});
const ROOT = BENCH_ROOT;
const DATA = BENCH_DATA;
const BUDGET = 0.005;
const log = createLogger('bench', { level: 'warn' });

interface Row {
  model: string;
  precision: string;
  bytes: number;
  ratio: number;
  miou: number;
  deltaMiouPoints: number;
  deltaPixelAccuracyPoints: number;
  maskAgreement: number;
  seconds: number;
  kept?: string;
}

// A smoke run takes the smallest model only.
const parents: [string, string][] = [['unet-small', args.small ?? (await trainedBenchModel('unet-small', Number(args['small-steps']), 8, log))]];
if (!SMOKE) parents.push(['unet-mobilenetv2', args.mobilenet ?? (await trainedBenchModel('unet-mobilenetv2', Number(args['mobilenet-steps']), 8, log))]);
const rows: Row[] = [];
for (const [model, dir] of parents) {
  for (const precision of ['fp32', 'fp16', 'uint8', 'mixed'] as const) {
    const r: ConvertResult = await convert({
      model: dir,
      precision,
      eval: DATA,
      models: ROOT,
      // The bench measures every precision's drop and refuses none: only mixed searches within a budget.
      maxMiouDrop: precision === 'mixed' ? BUDGET : 1,
      groupBy: model === 'unet-mobilenetv2' ? 'block' : 'layer',
      force: true,
      log,
      onProgress: () => {},
    });
    const c = r.comparison!;
    rows.push({
      model,
      precision: precision === 'mixed' ? `mixed (${r.card.precision})` : precision,
      bytes: r.card.bytes,
      ratio: r.card.bytes / r.parentBytes,
      miou: c.variant.miou,
      deltaMiouPoints: 100 * c.delta.miou,
      deltaPixelAccuracyPoints: 100 * c.delta.pixelAccuracy,
      maskAgreement: c.maskAgreement,
      seconds: r.seconds,
      kept: r.mixed ? r.mixed.kept.map((k) => `${k.group}:${k.dtype}`).join(' ') || 'none' : undefined,
    });
    const row = rows.at(-1)!;
    console.log(`${model} ${row.precision}: ${(row.bytes / 1024).toFixed(0)} KiB (${row.ratio.toFixed(3)}×), mIoU ${(100 * row.miou).toFixed(2)}% (${row.deltaMiouPoints >= 0 ? '+' : ''}${row.deltaMiouPoints.toFixed(2)} points), agreement ${(100 * row.maskAgreement).toFixed(2)}%, ${row.seconds.toFixed(1)} s`);
  }
}
const table = [
  '| model | precision | weight bytes | × fp32 parent | held-out mIoU | Δ mIoU (points) | Δ pixel acc. (points) | mask agreement | convert s |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.model} | ${r.precision} | ${r.bytes.toLocaleString('en')} | ${r.ratio.toFixed(3)} | ${(100 * r.miou).toFixed(2)}% | ${r.deltaMiouPoints.toFixed(2)} | ${r.deltaPixelAccuracyPoints.toFixed(2)} | ${(100 * r.maskAgreement).toFixed(2)}% | ${r.seconds.toFixed(1)} |`),
].join('\n');
const kept = rows.filter((r) => r.kept).map((r) => `- ${r.model} mixed kept wide: ${r.kept}`).join('\n');
console.log(`\n${table}\n\n${kept}`);
mkdirSync(BENCH_OUT, { recursive: true });
const machine = { cpu: cpus()[0]?.model, cores: availableParallelism() };
writeFileSync(benchOut('convert.json'), JSON.stringify({ bench: 'convert', machine, data: DATA, budget: BUDGET, parents, rows, measured: new Date().toISOString() }, null, 2));
writeFileSync(benchOut('convert.md'), `# Model size and accuracy per precision\n\nHeld-out split of \`${DATA}\`; parents trained in this run (see convert.json); ${machine.cpu} × ${machine.cores}.\n\n${table}\n\n${kept}\n`);
