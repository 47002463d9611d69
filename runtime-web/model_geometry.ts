/** The model's input size and classes as its card's contract declares them (an imported model declares its own). */
import type { ModelCard } from '../core/card.js';
import type { FrameWindow, OutputSize } from '../core/output_geometry.js';

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

/**
 * The part of the model's grid an output samples: the frame's window for `input` and sizes in
 * pixels (mapped back to the frame), the whole grid for `model` (the model's own output as it saw
 * the fitted frame, letterbox bands included).
 */
export function samplingWindow(size: OutputSize, frame: FrameWindow, g: ModelGeometry): FrameWindow {
  return size === 'model' ? { x: 0, y: 0, width: g.width, height: g.height } : frame;
}
