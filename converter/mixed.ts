/**
 * `--precision mixed`: the smallest weight plan whose mIoU drop stays within the budget.
 * 1. All weights uint8. If that meets the budget, done.
 * 2. Sensitivity: quantize one group (a layer's weights) to uint8 with everything else fp32 and
 *    measure the mIoU drop; rank groups by drop.
 * 3. Keep the k most sensitive groups at float16 (then, if needed, float32), smallest k that
 *    meets the budget, found by bisection and confirmed.
 * Trials swap fake-quantized weights into one loaded model instead of reloading it.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../core/node/tfjs.js';
import { agreement, predictMasks, type LoadedSet } from './measure.js';
import { fakeQuantize, planBytes, type WeightDtype } from './quantize.js';

export interface MixedOptions {
  /** Largest allowed mIoU drop vs the parent, 0–1 scale. */
  budget: number;
  /** Reference mIoU (the parent's on the same set). */
  parentMiou: number;
  /** Group weights by layer (`layer`) or by block prefix before the first '_' run of digits (`block`). @default 'layer' */
  groupBy?: 'layer' | 'block';
  onProgress?(message: string): void;
}

export interface MixedResult {
  plan: Map<string, WeightDtype>;
  /** Groups ranked most sensitive first, with the drop each caused alone. */
  sensitivity: { group: string; drop: number; bytes: number }[];
  /** Groups kept wider than uint8, and at which dtype. */
  kept: { group: string; dtype: WeightDtype }[];
  miou: number;
  met: boolean;
  trials: number;
}

export function groupOf(weight: string, by: 'layer' | 'block'): string {
  const layer = weight.slice(0, weight.lastIndexOf('/'));
  if (by === 'layer') return layer;
  const m = /^(block_\d+|expanded_conv|enc\d+|dec\d+|up\d+)/.exec(layer);
  return m ? m[1] : layer;
}

export async function searchMixed(
  model: LayersModel,
  weights: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
  set: LoadedSet,
  options: MixedOptions,
): Promise<MixedResult> {
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  const groups = new Map<string, string[]>();
  for (const name of weights.keys()) {
    const g = groupOf(name, options.groupBy ?? 'layer');
    groups.set(g, [...(groups.get(g) ?? []), name]);
  }
  let trials = 0;
  const cache = new Map<string, Float32Array>();
  const apply = (plan: Map<string, WeightDtype>) => {
    for (const [name, values] of weights) {
      const dtype = plan.get(name)!;
      const key = `${name}:${dtype}`;
      if (!cache.has(key)) cache.set(key, fakeQuantize(values, dtype));
      byName.get(name)!.write(tf.tensor(cache.get(key)!, shapes.get(name)));
    }
  };
  const miouOf = async (plan: Map<string, WeightDtype>) => {
    apply(plan);
    trials++;
    return (await predictMasks(model, set)).metrics.miou;
  };
  const planWith = (base: WeightDtype, wide: Map<string, WeightDtype>) => {
    const plan = new Map<string, WeightDtype>();
    for (const [g, names] of groups) for (const n of names) plan.set(n, wide.get(g) ?? base);
    return plan;
  };
  const meets = (miou: number) => options.parentMiou - miou <= options.budget;

  const allUint8 = planWith('uint8', new Map());
  const base = await miouOf(allUint8);
  options.onProgress?.(`all uint8: mIoU drop ${(100 * (options.parentMiou - base)).toFixed(2)} points`);
  if (meets(base)) return { plan: allUint8, sensitivity: [], kept: [], miou: base, met: true, trials };

  const sensitivity: MixedResult['sensitivity'] = [];
  for (const [g, names] of groups) {
    const alone = new Map(names.map((n) => [n, 'uint8' as WeightDtype]));
    const plan = new Map([...weights.keys()].map((n) => [n, alone.get(n) ?? ('float32' as WeightDtype)]));
    const drop = options.parentMiou - (await miouOf(plan));
    const bytes = names.reduce((s, n) => s + shapes.get(n)!.reduce((a, b) => a * b, 1), 0);
    sensitivity.push({ group: g, drop, bytes });
    options.onProgress?.(`sensitivity ${sensitivity.length}/${groups.size}: ${g} ${(100 * drop).toFixed(2)} points`);
  }
  sensitivity.sort((a, b) => b.drop - a.drop || a.bytes - b.bytes);

  for (const wideDtype of ['float16', 'float32'] as const) {
    const planFor = (k: number) => planWith('uint8', new Map(sensitivity.slice(0, k).map((s) => [s.group, wideDtype])));
    const memo = new Map<number, number>();
    const miouAt = async (k: number) => {
      if (!memo.has(k)) memo.set(k, await miouOf(planFor(k)));
      return memo.get(k)!;
    };
    if (!meets(await miouAt(sensitivity.length))) continue;
    let lo = 0;
    let hi = sensitivity.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (meets(await miouAt(mid))) hi = mid;
      else lo = mid + 1;
      options.onProgress?.(`keeping ${mid} most sensitive groups at ${wideDtype}: mIoU ${(100 * memo.get(mid)!).toFixed(2)}%`);
    }
    const plan = planFor(hi);
    return {
      plan,
      sensitivity,
      kept: sensitivity.slice(0, hi).map((s) => ({ group: s.group, dtype: wideDtype })),
      miou: await miouAt(hi),
      met: true,
      trials,
    };
  }
  const fp32 = planWith('float32', new Map());
  return { plan: fp32, sensitivity, kept: [...groups.keys()].map((g) => ({ group: g, dtype: 'float32' as WeightDtype })), miou: await miouOf(fp32), met: false, trials };
}

