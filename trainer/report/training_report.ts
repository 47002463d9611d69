/** The training report: loss and mIoU curves, per-class metrics, predictions on held-out photos; Markdown + self-contained HTML. */
import { CLASS_NAMES, toBase64, type SegmentationMetrics } from '../../core/index.js';
import { GRID_COLUMNS } from './sample_grid.js';
import { lineChart } from './svg_chart.js';

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  valLoss: number;
  pixelAccuracy: number;
  miou: number;
  /** Absent in runs logged before it was measured. */
  foregroundIou?: number;
  seconds: number;
}

export interface ReportInput {
  title: string;
  summary: [string, string][];
  steps: StepRecord[];
  epochs: EpochRecord[];
  final: SegmentationMetrics;
  samplesPng: Uint8Array;
  /** The grid's rows, top to bottom: which held-out sample and its foreground IoU. */
  samples?: { id: string; foregroundIou: number }[];
}

export interface ReportFiles {
  'report.md': string;
  'report.html': string;
  'loss.svg': string;
  'miou.svg': string;
  'samples.png': Uint8Array;
}

/** Moving average, so per-step loss curves stay readable. */
function smooth(points: [number, number][], window: number): [number, number][] {
  return points.map(([x], i) => {
    const from = Math.max(0, i - window + 1);
    const slice = points.slice(from, i + 1);
    return [x, slice.reduce((a, [, y]) => a + y, 0) / slice.length];
  });
}

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) + '%' : 'n/a');

export function trainingReport(r: ReportInput): ReportFiles {
  const stepLoss = r.steps.map((s) => [s.step, s.loss] as [number, number]);
  const lossSvg = lineChart(
    [
      { name: 'train loss (per step)', points: stepLoss },
      { name: 'train loss (smoothed)', points: smooth(stepLoss, Math.max(1, Math.round(stepLoss.length / 30))) },
      { name: 'validation loss', points: r.epochs.map((e) => [e.step, e.valLoss]) },
    ],
    { title: 'Loss', xLabel: 'step', yLabel: 'cross-entropy', logY: true },
  );
  const miouSvg = lineChart(
    [
      { name: 'validation mIoU', points: r.epochs.map((e) => [e.epoch, e.miou]) },
      { name: 'validation pixel accuracy', points: r.epochs.map((e) => [e.epoch, e.pixelAccuracy]) },
      ...(r.epochs.some((e) => e.foregroundIou !== undefined)
        ? [{ name: 'validation foreground IoU', points: r.epochs.filter((e) => e.foregroundIou !== undefined).map((e) => [e.epoch, e.foregroundIou!] as [number, number]) }]
        : []),
    ],
    { title: 'Validation metrics', xLabel: 'epoch', yLabel: '0–1', yRange: [0, 1] },
  );
  const summary = r.summary.map(([k, v]) => `| ${k} | ${v} |`).join('\n');
  const perClass = CLASS_NAMES.map((n, i) => `| ${n} | ${pct(r.final.perClassIou[i])} | ${pct(r.final.perClassDice[i])} |`).join('\n');
  const epochs = r.epochs
    .map((e) => `| ${e.epoch} | ${e.step} | ${e.trainLoss.toFixed(4)} | ${e.valLoss.toFixed(4)} | ${pct(e.pixelAccuracy)} | ${pct(e.miou)} | ${pct(e.foregroundIou ?? NaN)} | ${e.seconds.toFixed(1)} |`)
    .join('\n');
  const legend = r.samples?.length
    ? `\n| row | sample | fg IoU |\n|---|---|---|\n${r.samples.map((s, i) => `| ${i + 1} | ${s.id} | ${pct(s.foregroundIou)} |`).join('\n')}\n`
    : '';
  const body = (img: (file: string, alt: string) => string) => `# ${r.title}

| | |
|---|---|
${summary}

## Held-out metrics

Pixel accuracy **${pct(r.final.pixelAccuracy)}**, mIoU **${pct(r.final.miou)}**, foreground IoU **${pct(r.final.foregroundIou)}** (pet vs the rest, border pixels ignored), Dice **${pct(r.final.dice)}** over ${r.final.pixels} pixels.

| class | IoU | Dice |
|---|---|---|
${perClass}

## Curves

${img('loss.svg', 'loss curves')}

${img('miou.svg', 'validation metrics per epoch')}

## Epochs

| epoch | step | train loss | val loss | pixel acc. | mIoU | fg IoU | seconds |
|---|---|---|---|---|---|---|---|
${epochs}

## Predictions on held-out photos (${GRID_COLUMNS.join(' | ')})

${img('samples.png', 'predictions on held-out photos')}
${legend}`;
  const md = body((file, alt) => `![${alt}](${file})`);
  const inline: Record<string, string> = {
    'loss.svg': `data:image/svg+xml;base64,${toBase64(new TextEncoder().encode(lossSvg))}`,
    'miou.svg': `data:image/svg+xml;base64,${toBase64(new TextEncoder().encode(miouSvg))}`,
    'samples.png': `data:image/png;base64,${toBase64(r.samplesPng)}`,
  };
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${r.title}</title>
<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style></head><body>
${markdownToHtml(body((file, alt) => `<img alt="${alt}" src="${inline[file]}">`))}
</body></html>`;
  return { 'report.md': md, 'report.html': html, 'loss.svg': lossSvg, 'miou.svg': miouSvg, 'samples.png': r.samplesPng };
}

/** Just enough Markdown for the reports edgeseg writes: headings, tables, bold, paragraphs. */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const inlineMd = (s: string) => s.replace(/\*\*(.+?)\*\*/g, '<b>$1</b>').replace(/`([^`]+)`/g, '<code>$1</code>');
    if (/^#{1,6} /.test(line)) {
      const level = line.indexOf(' ');
      out.push(`<h${level}>${inlineMd(line.slice(level + 1))}</h${level}>`);
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i].startsWith('|')) {
        const cells = lines[i].split('|').slice(1, -1).map((c) => c.trim());
        if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells);
        i++;
      }
      i--;
      out.push(`<table>${rows.map((r, k) => `<tr>${r.map((c) => (k === 0 ? `<th>${inlineMd(c)}</th>` : `<td>${inlineMd(c)}</td>`)).join('')}</tr>`).join('')}</table>`);
    } else if (line.trim()) {
      out.push(`<p>${inlineMd(line)}</p>`);
    }
  }
  return out.join('\n');
}
