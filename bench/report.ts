/**
 * One benchmark report from the benches' JSON files (bench/out/<name>.json): bench/report.md
 * with tables and SVG charts (bench/report-*.svg) and bench/report.json holding every input.
 * Each figure names its machine, its backend and the ratio it is compared by.
 *
 *   npx tsx bench/report.ts        (npm run bench runs it after the benches)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, lineChart, type BarGroup } from '../trainer/report/svg_chart.js';

const OUT = join(import.meta.dirname, 'out');
const DIR = import.meta.dirname;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The last report's inputs: a bench whose bench/out file is gone (a fresh checkout) keeps its section. */
const lastInputs: Record<string, Json> = existsSync(join(DIR, 'report.json')) ? ((JSON.parse(readFileSync(join(DIR, 'report.json'), 'utf8')) as Json).benches ?? {}) : {};

function load(name: string): Json | null {
  const p = join(OUT, `${name}.json`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Json) : (lastInputs[name] ?? null);
}

const num = (v: number, digits = 1) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const machineOf = (j: Json) => (typeof j.machine === 'string' ? j.machine : `${j.machine?.cpu ?? '?'} × ${j.machine?.cores ?? '?'}`);

function chart(file: string, svg: string, alt: string): string {
  writeFileSync(join(DIR, file), svg);
  return `![${alt}](${file})`;
}

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The gradient kernels of one step, previous round's kernel vs this one, timed alternately in the same run. */
function beforeAfterTable(m: Json, p: Json, j: Json): string[] {
  const rows = p.beforeAfter as Json[];
  const rate = (r: Json, ms: number) => (r.gflop ? num((1000 * r.gflop) / ms, 1) : '-');
  const k1 = (m.keras as Json[]).find((k) => k.threads === 1);
  const keras = k1 ? `; Keras on 1 thread ran the whole step at ${num((3 * m.forwardGflopPerFrame * j.batch * 1000) / k1.msPerStep, 1)} GFLOP/s (same run)` : '';
  return [
    '',
    `Gradient kernels of the same step, before (previous round's kernel) and after, each call replayed with fresh inputs, the two alternating (CPU ms, median of 3). Forward convolutions of the step: ${num(p.forwardConvGflops, 1)} GFLOP/s${p.forwardKindGflops ? ` (dense ${num(p.forwardKindGflops.conv, 1)}, depthwise ${p.forwardKindGflops.depthwise > 0 ? num(p.forwardKindGflops.depthwise, 1) : '-'}); a depthwise gradient is also held against the depthwise forward rate, a dense one against the dense rate` : ''}${keras}.`,
    '',
    table(
      ['kernel', 'calls', 'before ms', 'before GFLOP/s', 'after ms', 'after GFLOP/s', 'after / forward conv', 'after / forward of its kind', 'speed-up'],
      rows.map((r) => {
        const kind = p.forwardKindGflops ? (String(r.kernel).startsWith('Depthwise') ? p.forwardKindGflops.depthwise : p.forwardKindGflops.conv) : 0;
        return [r.kernel, r.calls, num(r.beforeMs, 1), rate(r, r.beforeMs), num(r.afterMs, 1), rate(r, r.afterMs), r.gflop ? `${num((1000 * r.gflop) / r.afterMs / p.forwardConvGflops, 2)}×` : '-', r.gflop && kind > 0 ? `${num((1000 * r.gflop) / r.afterMs / kind, 2)}×` : '-', `${num(r.beforeMs / r.afterMs, 2)}×`];
      }),
    ),
  ];
}

function trainSection(j: Json): string {
  if (!Array.isArray(j.models)) return `## bench:train\n\nbench/out/train.json is in the format of an older bench:train; run \`npm run bench:train\` again.`;
  const models = j.models as Json[];
  const rows = models.flatMap((m) => [
    ...(m.rows as Json[]).map((r) => [m.name, r.convolutions === 'onnxruntime' ? 'edgeseg wasm + onnxruntime conv' : 'edgeseg wasm', r.workers, num(r.msPerStep, 0), num(r.imagesPerSecond, 2), num(r.gflops, 2), num(r.cpuMsPerStep, 0)]),
    ...(m.keras as Json[]).map((k) => [m.name, `Keras ${k.keras} / TF ${k.tensorflow}`, k.threads, num(k.msPerStep, 0), num(k.imagesPerSecond, 2), num((3 * m.forwardGflopPerFrame * j.batch * 1000) / k.msPerStep, 2), k.cpuMsPerStep === undefined ? '-' : num(k.cpuMsPerStep, 0)]),
  ]);
  const profiles = models.filter((m) => m.profile).map((m) => {
    const p = m.profile;
    const total = p.phaseMs.forward + p.phaseMs.backward + p.phaseMs.optimizer;
    return [
      `Profile of one ${m.name} step (wasm${(m.rows as Json[]).some((r) => r.convolutions === 'onnxruntime') ? " with onnxruntime's convolutions" : ""}, one thread): ${num(total, 0)} ms in kernels — forward ${num(p.phaseMs.forward, 0)}, backward ${num(p.phaseMs.backward, 0)}, optimizer ${num(p.phaseMs.optimizer, 0)}.`,
      '',
      table(['phase', 'kernel', 'calls', 'ms', 'share', 'GFLOP/s'], (p.top as Json[]).slice(0, 8).map((k) => [k.phase, k.kernel, k.calls, num(k.ms, 0), pct(k.ms / total), k.gflop ? num((1000 * k.gflop) / k.ms, 1) : '-'])),
      ...(Array.isArray(p.beforeAfter) ? beforeAfterTable(m, p, j) : []),
    ].join('\n');
  });
  return [
    '## Training throughput, 1 vs N workers, against Keras (bench:train)',
    `Machine: ${machineOf(j)}; load average ${(j.load.before as number[]).map((l) => num(l, 2)).join(' / ')} before, ${(j.load.after as number[]).map((l) => num(l, 2)).join(' / ')} after (1/5/15 min). Batch ${j.batch} at 128²; 1 vs ${j.workers} workers in ${j.rounds} interleaved rounds of ${j.stepsPerRound} steps (medians)${j.warmupSteps ? `, after ${j.warmupSteps} warm-up steps per runner` : ''}. Measured ${j.measured}.`,
    '',
    table(['model', 'trainer', 'threads', 'ms / step', 'images / s', 'GFLOP/s (≈ 3× fwd)', 'CPU ms / step'], rows),
    '',
    chart(
      'report-train.svg',
      barChart(models.map((m) => ({ label: m.name, values: [...(m.rows as Json[]).map((r) => ({ name: `edgeseg ×${r.workers}${r.convolutions === 'wasm' && (m.rows as Json[]).some((o) => o.convolutions === 'onnxruntime') ? ' (wasm conv)' : ''}`, value: r.imagesPerSecond })), ...(m.keras as Json[]).map((k) => ({ name: `Keras ×${k.threads}`, value: k.imagesPerSecond }))] })), { title: `Training throughput, ${machineOf(j)}`, yLabel: 'images / s' }),
      'training images per second per model, workers and trainer',
    ),
    '',
    ...profiles.flatMap((p) => [p, '']),
    ...models.filter((m) => m.sync).map((m) => `${m.name}: each of the ${j.workers} replicas passes ${m.sync.barriersPerStep} barriers per step and waits in them ${num(m.sync.medianBlockedMsPerReplica, 0)} ms (median)${typeof m.sync.medianThreadCpuMsPerReplica === 'number' ? `; of its ${num(m.sync.medianStepMsPerReplica, 0)} ms step its thread ran ${num(m.sync.medianThreadCpuMsPerReplica, 0)} ms of CPU, and was runnable without a core for ${num(Math.max(0, m.sync.medianStepMsPerReplica - m.sync.medianThreadCpuMsPerReplica - m.sync.medianBlockedMsPerReplica), 0)} ms` : ''}${typeof m.sync.medianOtherThreadsCpuMs === 'number' ? `; V8's helper threads (GC, compiler) used another ${num(m.sync.medianOtherThreadsCpuMs, 0)} CPU-ms per step` : ''}.`),
    '',
    `Data pipeline: ${num(j.data.batchAssemblyMs, 1)} ms per batch assembled on the loop's thread (overlapped with the step); ${j.data.decodeMsPerImage === null ? 'n/a' : num(j.data.decodeMsPerImage, 1)} ms per Oxford image decoded (once, in the decode pool).`,
    '',
    'Ratios (same run):',
    ...Object.entries(j.ratios ?? {}).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×**`),
    ...(j.notes?.length ? ['', ...j.notes.map((n: string) => `- ${n}`)] : []),
  ].join('\n');
}

function convertSection(j: Json): string {
  const rows = j.rows as Json[];
  const models = [...new Set(rows.map((r) => r.model as string))];
  const precisions = [...new Set(rows.map((r) => r.precision as string))];
  const groups = (value: (r: Json) => number): BarGroup[] => models.map((m) => ({ label: m, values: rows.filter((r) => r.model === m).map((r) => ({ name: r.precision, value: value(r) })) }));
  return [
    '## Model size and mIoU per precision (bench:convert)',
    `Machine: ${machineOf(j)} (evaluation on tfjs-wasm). Held-out split of \`${j.data}\`; mixed budget ${(100 * j.budget).toFixed(1)} points. Ratios are against each model's fp32 parent in the same run. Measured ${j.measured}.`,
    '',
    table(
      ['model', 'precision', 'weight bytes', '× fp32', 'held-out mIoU', 'Δ mIoU (points)', 'mask agreement'],
      rows.map((r) => [r.model, r.precision, r.bytes.toLocaleString('en-US'), num(r.ratio, 3), pct(r.miou), num(r.deltaMiouPoints, 2), pct(r.maskAgreement)]),
    ),
    '',
    chart('report-convert-size.svg', barChart(groups((r) => r.ratio), { title: 'Weight size × fp32 parent', yLabel: '× fp32', yRange: [0, 1] }), 'size ratio per precision'),
    chart('report-convert-miou.svg', barChart(groups((r) => 100 * r.miou), { title: `Held-out mIoU per precision (${precisions.length} precisions)`, yLabel: 'mIoU %', yRange: [0, 100] }), 'mIoU per precision'),
  ].join('\n');
}

function webSection(j: Json): string {
  const rows = j.rows as Json[];
  const backends = [...new Set(rows.map((r) => r.backend as string))];
  const groups = (value: (r: Json) => number): BarGroup[] => backends.map((b) => ({ label: b, values: rows.filter((r) => r.backend === b).map((r) => ({ name: r.variant, value: value(r) })) }));
  return [
    '## Browser time to first mask and FPS per backend and variant (bench:web)',
    `Machine: ${machineOf(j)}; headless Chromium ${j.chromium}; ${num(j.gflopPerFrame, 3)} GFLOP per frame. Measured ${j.measured}.`,
    '',
    table(
      ['backend', 'variant', 'first mask ms', 'p50 ms', 'p95 ms', 'FPS', 'main thread ms/frame', 'frames'],
      rows.map((r) => [r.backend, r.variant, num(r.firstMaskMs, 0), num(r.p50Ms, 1), num(r.p95Ms, 1), num(r.fps, 2), num(r.mainThreadMs, 2), r.frames]),
    ),
    '',
    chart('report-web-fps.svg', barChart(groups((r) => r.fps), { title: 'Browser FPS (SwiftShader for webgpu/webgl)', yLabel: 'frames / s' }), 'FPS per backend'),
    chart('report-web-first-mask.svg', barChart(groups((r) => r.firstMaskMs / 1000), { title: 'Time to first mask', yLabel: 's' }), 'time to first mask'),
    '',
    'Ratios (same run):',
    ...Object.entries(j.ratios ?? {}).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×**`),
    ...(j.notes?.length ? ['', ...j.notes.map((n: string) => `- ${n}`)] : []),
  ].join('\n');
}

function streamSection(j: Json): string {
  const rows = j.rows as Json[];
  const m = j.model;
  return [
    '## Stream throughput and latency (bench:stream)',
    `Machine: ${machineOf(j)}; real Kafka broker on 127.0.0.1; ${m.name} base ${m.baseFilters} depth ${m.depth} on ${m.backend}${m.engine ? ` (${m.engine})` : ''}. Measured ${j.measured}.`,
    '',
    table(['case', 'workers', 'max batch', 'frames', 'frames / s'], rows.map((r) => [r.case, r.workers, r.maxBatch, r.frames, num(r.framesPerSecond, 1)])),
    '',
    chart('report-stream.svg', barChart(rows.map((r) => ({ label: String(r.case).replace(/, 2 workers/, ''), values: [{ name: `${r.workers} worker(s)`, value: r.framesPerSecond }] })), { title: 'Consumer throughput', yLabel: 'frames / s', width: 760 }), 'stream throughput'),
    '',
    table(['offered load', 'offered fps', 'frames', 'p50 ms', 'p99 ms'], (j.latency as Json[]).map((l) => [l.load, num(l.offeredFps, 1), l.frames, l.p50Ms, l.p99Ms])),
    '',
    'Ratios (same run):',
    ...Object.entries(j.ratios ?? {}).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×**`),
  ].join('\n');
}

function packageSection(j: Json): string {
  const mb = (b: number) => `${num(b / 1e6, 2)} MB`;
  const kb = (b: number) => `${num(b / 1e3, 1)} kB`;
  const apps = j.apps as Json[];
  return [
    '## Installed package, app bundle and CLI start (bench:package)',
    `Machine: ${machineOf(j)}; node ${j.node}; ${Object.entries(j.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Measured ${j.measured}.`,
    '',
    `Package: **${mb(j.package.packedBytes)} packed, ${mb(j.package.unpackedBytes)} unpacked**, ${j.package.files} files (largest: ${(j.package.largest as Json[]).map((f) => `${f.file} ${mb(f.bytes)}`).join(', ')}). Installed alone in a fresh project (dependencies and peers from the npm cache): ${mb(j.install.bytes)} of node_modules in ${num(j.install.ms / 1000, 1)} s.`,
    '',
    'What a minimal Vite app adds to its build (`vite build`, every emitted or served .js/.wasm, minus the empty app):',
    '',
    table(
      ['app', 'JS gzip', 'JS raw', 'wasm gzip', 'wasm raw'],
      apps.map((a) => [a.label, kb(a.app === 'empty' ? a.js.gzip : a.added.jsGzip), kb(a.app === 'empty' ? a.js.raw : a.added.jsRaw), mb(a.app === 'empty' ? a.wasm.gzip : a.added.wasmGzip), mb(a.app === 'empty' ? a.wasm.raw : a.added.wasmRaw)]),
    ),
    '',
    "edgeseg's files in that app (the main-thread chunks load with the page; the worker when a segmenter starts; the `engine` chunk only with `worker: false`; ONNX Runtime's wasm only when its engine runs):",
    '',
    table(['file', 'gzip', 'raw'], ((apps.find((a) => a.app === 'edgeseg')?.files ?? []) as Json[]).map((f) => [f.file.replace(/^(assets\/[a-z]+(?:[-.][a-z]+)*)-.*(\.\w+)$/, '$1$2'), kb(f.gzip), kb(f.raw)])),
    '',
    table(
      ['`edgeseg --help`', 'first run ms', `median of ${j.cli.installed.runs.length - 1} ms`],
      [
        ['installed package (compiled JS, plain node)', num(j.cli.installed.firstMs, 0), num(j.cli.installed.medianMs, 0)],
        ['checkout (TypeScript through tsx)', num(j.cli.tsx.firstMs, 0), num(j.cli.tsx.medianMs, 0)],
      ],
    ),
    '',
    'Ratios (same run):',
    ...Object.entries(j.ratios ?? {}).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×**`),
  ].join('\n');
}

function petsSection(j: Json): string {
  const c = j.compare as Json | undefined;
  const s = j.shipped as Json | undefined;
  const ref = j.reference as Json;
  const parts: string[] = ['## Oxford-IIIT Pet: --init vs from scratch, the shipped model, latency (bench:pets)', `Machine: ${machineOf(j)}. Measured ${j.measured}.`];
  if (c) {
    const arms = c.arms as Json[];
    const epochRows = arms.flatMap((a) => (a.epochs as Json[]).map((e) => [a.arm, e.epoch, e.step, pct(e.valMiou), pct(e.heldOut.miou), pct(e.heldOut.foregroundIou)]));
    parts.push(
      '',
      `### --init vs from scratch, same step budget`,
      `${c.recipe.model} ${JSON.stringify(c.recipe.modelConfig)} (the shipped recipe, data/models/pets.train.json: lr ${c.recipe.learningRate} ${c.recipe.schedule}, seed ${c.recipe.seed}) trained ${c.steps} steps of batch ${c.batch} (${c.workers} workers, wasm) on \`${c.data}\`, twice: encoder from ${arms[0].init} (ImageNet MobileNetV2, frozen for epoch 1; input normalization ${arms[0].normalization}) vs a seeded random init (${arms[1].normalization}). Held-out: the **${c.heldOut.split}** split, ${c.heldOut.images} images, never trained or selected on; validation mIoU from each run's metrics.jsonl, held-out metrics from each epoch's end-of-epoch checkpoint. Measured ${c.measured}.`,
      '',
      table(['run', 'epoch', 'step', 'val mIoU', 'held-out mIoU', 'held-out fg IoU'], epochRows),
      '',
      chart(
        'report-pets-init.svg',
        lineChart(
          arms.flatMap((a) => [
            { name: `${a.arm} mIoU`, points: (a.epochs as Json[]).map((e) => [e.step, 100 * e.heldOut.miou] as [number, number]) },
            { name: `${a.arm} fg IoU`, points: (a.epochs as Json[]).map((e) => [e.step, 100 * e.heldOut.foregroundIou] as [number, number]) },
          ]),
          { title: `Held-out (${c.heldOut.split}) mIoU and fg IoU, --init vs scratch`, xLabel: 'step (epoch ends)', yLabel: '%', yRange: [0, 100] },
        ),
        'held-out mIoU and foreground IoU per epoch, init vs scratch',
      ),
      '',
      ...Object.entries(c.ratios).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×** (after ${c.steps} steps each)`),
    );
  }
  if (s) {
    const rows = s.rows as Json[];
    const node = s.node.rows as Json[];
    const web = s.browser.rows as Json[];
    parts.push(
      '',
      `### The shipped model (${s.root}/${s.name}: ${s.versions.fp16} and ${s.versions.uint8}, champion ${s.versions.champion})`,
      `Held-out **${s.heldOut.split}** split of \`${s.data}\`, ${s.heldOut.images} images at 128². The two version folders as shipped (every file): ${num(s.shippedBytes / 1e6, 2)} MB. Measured ${s.measured}.`,
      '',
      table(
        ['variant', 'file', 'engine', 'bytes', 'pixel accuracy', 'mIoU', 'fg IoU', 'source'],
        rows.map((r) => [r.variant, r.file, r.engine, r.bytes.toLocaleString('en-US'), pct(r.pixelAccuracy), pct(r.miou), pct(r.foregroundIou), r.source === 'card' ? `card: ${r.note}` : 'measured']),
      ),
      '',
      `Node ${s.node.ort ? `(ONNX Runtime ${s.node.ort}) ` : ''}on one core: one intra-op thread, sequential, batch 1, a held-out photo as input; model run only, ${s.node.runs} interleaved runs each${s.node.cpuPerWall === undefined ? '' : `; the process's CPU time over the runs' wall time: ${num(s.node.cpuPerWall, 2)}`}${s.load ? `; load average ${(s.load as number[]).map((l) => num(l, 2)).join(' / ')} (1/5/15 min) at the end` : ''}.`,
      '',
      table(['model file', 'p50 ms / image', 'p90 ms', 'min ms', 'images / s (1000 / p50)'], [
        ...node.map((r) => [r.file, num(r.p50Ms, 1), num(r.p90Ms, 1), num(r.minMs, 1), num(1000 / r.p50Ms, 1)]),
        [`reference: ${ref.model} (issue 12, not measured here)`, num(ref.msPerImage, 0), '-', '-', num(1000 / ref.msPerImage, 1)],
      ]),
      '',
      chart(
        'report-pets-latency.svg',
        barChart(
          [{ label: 'reference (issue 12)', value: ref.msPerImage }, ...node.map((r) => ({ label: r.file, value: r.p50Ms }))].map((b) => ({ label: b.label, values: [{ name: 'p50 ms / image', value: b.value }] })),
          { title: 'ms per 128² image on one core (reference: not measured here)', yLabel: 'ms' },
        ),
        'ms per image on one core: shipped int8 and fp32 ONNX vs the reference',
      ),
      '',
      `Headless Chromium ${s.browser.chromium} (runtime-web, wasm backend): ${s.browser.photos} held-out photos at their own size as canvas frames, ${s.browser.frames} timed frames per case; fg IoU and mIoU of the masks against the photos' trimaps.`,
      '',
      table(['engine', 'model', 'p50 ms / frame', 'p50 model + readback ms', 'frames / s', 'fg IoU', 'mIoU'], web.map((w) => [w.engine, w.file, num(w.p50Ms, 1), num(w.modelP50Ms, 1), num(w.fps, 1), pct(w.foregroundIou), pct(w.miou)])),
      '',
      `**pets fg IoU ${num(s.headline.foregroundIou, 3)}; ms/image ${num(s.headline.msPerImage, 1)} (one core, ORT)** — reference: ${ref.megabytes} MB, fg IoU ${ref.foregroundIou} at ${ref.resolution}², ${ref.msPerImage} ms/image on one core (issue 12's figures, not measured here).`,
      '',
      'Goals (issue 12):',
      ...Object.entries(s.goals).map(([k, v]) => `- ${k}: ${v ? 'met' : '**not met**'}`),
      '',
      'Ratios (same run):',
      ...Object.entries(s.ratios).map(([k, v]) => `- ${k}: **${num(v as number, 2)}×**`),
    );
  }
  return parts.join('\n');
}

/** The section of bench:<name> in the report as it stands (its Markdown input may be gone while its JSON is kept). */
function lastSection(name: string): string | null {
  const p = join(DIR, 'report.md');
  if (!existsSync(p)) return null;
  const m = readFileSync(p, 'utf8').match(new RegExp(`^## [^\\n]*\\(bench:${name}\\)\\n[\\s\\S]*?(?=^## |(?![\\s\\S]))`, 'm'));
  return m ? m[0].trim() : null;
}

/** A bench this report has no dedicated layout for: its own Markdown, headings one level down, else its ratios. */
function genericSection(name: string, j: Json): string {
  const mdPath = join(OUT, `${name}.md`);
  if (existsSync(mdPath)) {
    const body = readFileSync(mdPath, 'utf8').replace(/^(#+) /gm, (_, h: string) => `#${h} `).replace(/^## (.*)$/m, `## $1 (bench:${name})`);
    return `${body.trim()}\n\nMeasured ${j.measured ?? '?'}.`;
  }
  const kept = lastSection(name);
  if (kept) return kept;
  return [
    `## bench:${name}`,
    `Machine: ${machineOf(j)}. Measured ${j.measured ?? '?'}.`,
    '',
    ...(j.ratios ? ['Ratios (same run):', ...Object.entries(j.ratios).map(([k, v]) => `- ${k}: **${typeof v === 'number' ? num(v, 2) : v}×**`)] : []),
  ].join('\n');
}

export function writeReport(): { md: string; json: string; sections: string[] } {
  const inputs: Record<string, Json> = {};
  const sections: string[] = [];
  const parts: string[] = ['# edgeseg benchmark report', '', 'Every number comes from the bench script named in its section, run on the machine it names; ratios compare rows of the same run. Regenerate with `npm run bench` (or `npx tsx bench/report.ts` to rebuild this file from bench/out/).', ''];
  const known: [string, (j: Json) => string][] = [
    ['train', trainSection],
    ['convert', convertSection],
    ['web', webSection],
    ['stream', streamSection],
  ];
  for (const [name, render] of known) {
    const j = load(name);
    if (!j) {
      parts.push(`## bench:${name}`, '', `Not measured: bench/out/${name}.json is missing (run \`npm run bench:${name}\`).`, '');
      continue;
    }
    inputs[name] = j;
    sections.push(name);
    parts.push(render(j), '');
  }
  for (const name of ['engines']) {
    const j = load(name);
    if (!j) continue;
    inputs[name] = j;
    sections.push(name);
    parts.push(genericSection(name, j), '');
  }
  const pkg = load('package');
  if (pkg) {
    inputs.package = pkg;
    sections.push('package');
    parts.push(packageSection(pkg), '');
  }
  const pets = load('pets');
  if (pets) {
    inputs.pets = pets;
    sections.push('pets');
    parts.push(petsSection(pets), '');
  }
  const md = join(DIR, 'report.md');
  const json = join(DIR, 'report.json');
  writeFileSync(md, parts.join('\n'));
  writeFileSync(json, JSON.stringify({ generated: new Date().toISOString(), benches: inputs }, null, 2) + '\n');
  return { md, json, sections };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = writeReport();
  console.log(`report: ${r.md} (${r.sections.join(', ') || 'no bench results yet'}); data: ${r.json}`);
}
