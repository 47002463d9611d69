/**
 * Forward FLOPs of one frame, counting each multiply-add of a convolution as 2 FLOPs (the
 * convention of the figures in the benchmarks). BatchNorm, activations, pooling and
 * concatenation are memory-bound and not counted.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';

interface ConvConfig {
  kernelSize: number[];
  filters?: number;
  depthMultiplier?: number;
}

/** Floating-point operations of one forward pass of a single frame (a multiply-add counts as two). */
export function countFlops(model: LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Conv2DTranspose' && cls !== 'DepthwiseConv2D') continue;
    const config = layer.getConfig() as unknown as ConvConfig;
    const [kh, kw] = config.kernelSize;
    const inShape = (layer.input as SymbolicTensor).shape as number[];
    const outShape = layer.outputShape as number[];
    const inChannels = inShape[3];
    if (cls === 'Conv2D') flops += 2 * outShape[1] * outShape[2] * kh * kw * inChannels * config.filters!;
    // Every input pixel scatters a kh×kw×filters patch.
    else if (cls === 'Conv2DTranspose') flops += 2 * inShape[1] * inShape[2] * kh * kw * inChannels * config.filters!;
    else flops += 2 * outShape[1] * outShape[2] * kh * kw * inChannels * (config.depthMultiplier ?? 1);
  }
  return flops;
}
