/** The model's input size and classes as its card's contract declares them (an imported model declares its own). */
import type { ModelCard } from '../core/card.js';

export interface ModelGeometry {
  width: number;
  height: number;
  classes: number;
  labels: readonly string[];
}

export function modelGeometry(card: ModelCard): ModelGeometry {
  const { input, classes } = card.contract;
  const [, a, b, c] = input.shape;
  const [height, width] = input.layout === 'NCHW' ? [b, c] : [a, b];
  return { width: Number(width), height: Number(height), classes: classes.length, labels: classes };
}
