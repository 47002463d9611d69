import type { Command } from 'commander';
import { readModelDir } from '../../core/node/artifact_fs.js';
import { graphFromArtifacts } from '../../converter/fold.js';
import { resolveModelRef, DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';
import { geometryOf } from '../../core/index.js';
import { DTYPE_BYTES } from '../../core/artifacts.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("a model's layers, parameters, bytes per precision and card")
    .argument('<model>', 'model directory or registry ref')
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .option('--layers', 'list every layer')
    .action(async (model: string, flags: { models: string; layers?: boolean }) => {
      const v = await readModelDir(resolveModelRef(model, flags.models));
      const c = v.card;
      console.log(`${c.name} ${c.version} (${c.architecture.name}, ${c.precision}${c.parentVersion ? `, from ${c.parentVersion}` : ''})`);
      console.log(`dir       ${v.dir}`);
      const g = geometryOf(c);
      console.log(`input     ${g.height}×${g.width} RGB; ${g.classes} classes: ${c.contract.classes.join(', ')}`);
      if (c.source) {
        const s = c.source;
        console.log(`source    ${s.format} ${s.file}${s.producer ? ` (${s.producer})` : ''} sha256 ${s.sha256.slice(0, 12)}${s.flattened.length ? `; flattened ${s.flattened.join(', ')}` : ''}`);
        console.log(`contract  ${s.inputName} → ${c.contract.input.name} ${c.contract.input.layout}, normalization ${c.contract.input.normalization ?? 'unit'} (${s.normalizationFrom}); ${s.outputName} → ${c.contract.output.name} ${c.contract.output.layout ?? 'NHWC'}; classes ${c.contract.classes.join(', ')}${s.pinned.length ? `; pinned ${s.pinned.join(' ')}` : ''}`);
      }
      const onnx = c.files.filter((f) => f.path.endsWith('.onnx'));
      console.log(`formats   ${[...(v.modelJson ? ['tfjs layers (model.json)'] : []), ...onnx.map((f) => `ONNX ${f.path} ${f.bytes.toLocaleString('en')} B sha256 ${f.sha256.slice(0, 12)}`)].join('; ')}`);
      // An ONNX-only version has no tfjs graph to list: its card says the rest.
      const modelJson = v.modelJson;
      const graph = modelJson ? graphFromArtifacts(modelJson, v.weightData) : null;
      const specs = modelJson ? modelJson.weightsManifest.flatMap((g) => g.weights) : [];
      if (graph) {
        const params = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
        const byClass = new Map<string, number>();
        for (const l of graph.layers) byClass.set(l.class_name, (byClass.get(l.class_name) ?? 0) + 1);
        console.log(`layers    ${graph.layers.length}: ${[...byClass].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
        console.log(`params    ${params.toLocaleString('en')} in ${specs.length} weights`);
        console.log(`bytes     stored ${c.bytes.toLocaleString('en')}; as fp32 ${(params * 4).toLocaleString('en')}, fp16 ${(params * 2).toLocaleString('en')}, uint8 ${params.toLocaleString('en')}`);
        const stored = new Map<string, number>();
        for (const s of specs) {
          const d = s.quantization?.dtype ?? s.dtype;
          stored.set(d, (stored.get(d) ?? 0) + s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[d]);
        }
        console.log(`storage   ${[...stored].map(([d, b]) => `${d} ${b.toLocaleString('en')} B`).join(', ')}`);
      } else {
        console.log(`params    ${c.params.toLocaleString('en')}; ONNX file ${c.bytes.toLocaleString('en')} B`);
      }
      if (c.metrics) console.log(`metrics   mIoU ${(100 * c.metrics.miou).toFixed(2)}%, pixel accuracy ${(100 * c.metrics.pixelAccuracy).toFixed(2)}%${c.metrics.foregroundIou === undefined ? '' : `, foreground IoU ${(100 * c.metrics.foregroundIou).toFixed(2)}%`}, dice ${(100 * c.metrics.dice).toFixed(2)}% on ${c.evaluation?.spec ?? '?'} (${c.evaluation?.samples ?? '?'} images)`);
      if (c.deltaVsParent) console.log(`vs parent mIoU ${(100 * c.deltaVsParent.miou).toFixed(2)} points, pixel accuracy ${(100 * c.deltaVsParent.pixelAccuracy).toFixed(2)} points, mask agreement ${(100 * c.deltaVsParent.maskAgreement).toFixed(2)}%`);
      const o = c.conversion?.onnx as { file: string; weights: string; deltaVsParent?: { miou: number; maskAgreement: number }; metrics?: { miou: number } } | undefined;
      if (o?.metrics && o.deltaVsParent) console.log(`onnx      ${o.file} (${o.weights} weights): mIoU ${(100 * o.metrics.miou).toFixed(2)}% (${(100 * o.deltaVsParent.miou).toFixed(2)} points vs parent), mask agreement ${(100 * o.deltaVsParent.maskAgreement).toFixed(2)}%`);
      console.log(`data      ${c.dataset?.spec ?? 'n/a'} (manifest ${c.dataset?.manifestHash.slice(0, 12) ?? '-'})`);
      console.log(`backend   ${c.backend?.name ?? '?'}${c.backend?.adapter ? ` (${c.backend.adapter})` : ''}; code ${c.codeRevision}`);
      if (flags.layers && graph) {
        for (const l of graph.layers) {
          const w = specs.filter((s) => s.name.startsWith(`${l.name}/`));
          const n = w.reduce((s, x) => s + x.shape.reduce((a, b) => a * b, 1), 0);
          const act = l.config.activation && l.config.activation !== 'linear' ? ` +${l.config.activation}` : '';
          console.log(`  ${l.name.padEnd(28)} ${(l.class_name + act).padEnd(26)} ${String(n).padStart(9)}  ${w.map((s) => s.quantization?.dtype ?? s.dtype).filter((d, i, a) => a.indexOf(d) === i).join(',')}`);
        }
      }
    });
}
