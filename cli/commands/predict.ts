import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { ConfigError, encodeMaskPng, ENGINE_KINDS, geometryOf, type EngineRequest, type SampleError } from '../../core/index.js';
import { backgroundClassOf, normalizationOf } from '../../core/contract.js';
import { outputDims, parseOutputSize } from '../../core/output_geometry.js';
import { blendOverlay } from '../../core/overlay.js';
import { imageToInput } from '../../core/preprocess.js';
import { classMasksAt } from '../../core/upsample.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { tf } from '../../core/node/tfjs.js';
import type { TrainingBackend } from '../../core/node/backends/select.js';
import { cliLogger, numberOption, type GlobalOptions } from '../context.js';
import { ProgressBar } from '../progress.js';
import { openRunner } from '../open_model.js';
import { DEFAULT_MODELS_ROOT } from '../../core/node/registry.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

interface PredictFlags extends GlobalOptions {
  model: string;
  input: string;
  out: string;
  backend?: TrainingBackend;
  engine: EngineRequest;
  maskSize?: 'model' | 'frame';
  outputSize: string;
  opacity: number;
  models: string;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('segment an image or a folder of images: class-id PNG masks and colour overlays')
    .requiredOption('--model <model>', 'model directory or registry ref (name, name@version, name@alias)')
    .requiredOption('--input <path>', 'an image file or a folder of images')
    .requiredOption('--out <dir>', 'output folder')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu', 'auto')
    .option('--engine <engine>', 'auto (ONNX Runtime when the version has an ONNX file, else tfjs) | tfjs | ort', 'auto')
    .option('--output-size <size>', 'model (the model grid), input (the image size; logits upsampled bilinearly, then argmax) or <width>x<height>', 'input')
    .option('--mask-size <size>', 'older name: model = --output-size model, frame = --output-size input')
    .option('--opacity <0-1>', 'overlay opacity', numberOption('opacity', 0), 0.5)
    .option('--models <dir>', 'registry root', DEFAULT_MODELS_ROOT)
    .action(async (flags: PredictFlags, cmd: Command) => {
      const log = cliLogger('predict', cmd.optsWithGlobals());
      if (flags.maskSize !== undefined && flags.maskSize !== 'model' && flags.maskSize !== 'frame') throw new ConfigError(`--mask-size must be model or frame, got '${flags.maskSize}'`);
      const outputSize = parseOutputSize(flags.maskSize ? (flags.maskSize === 'frame' ? 'input' : 'model') : flags.outputSize);
      const input = resolve(flags.input);
      if (!existsSync(input)) throw new ConfigError(`--input ${input} does not exist`);
      const files = statSync(input).isDirectory()
        ? readdirSync(input).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort().map((f) => join(input, f))
        : [input];
      if (files.length === 0) throw new ConfigError(`--input ${input} holds no .jpg, .png or .webp image`);
      if (flags.engine !== 'auto' && !(ENGINE_KINDS as readonly string[]).includes(flags.engine)) throw new ConfigError(`--engine must be auto, tfjs or ort, got '${flags.engine}'`);
      const { runner, card } = await openRunner(flags.model, { engine: flags.engine, backend: flags.backend, models: flags.models, log });
      const normalization = normalizationOf(card);
      const geometry = geometryOf(card);
      // Every class is drawn unless the card names a background (edgeseg's own models, PASCAL's class 0).
      const overlayOptions = { opacity: flags.opacity, classes: geometry.classes, background: backgroundClassOf(card) };
      mkdirSync(flags.out, { recursive: true });
      const bar = new ProgressBar({ label: 'predict', total: files.length });
      let written = 0;
      for (const [i, file] of files.entries()) {
        const stem = basename(file, extname(file));
        try {
          const image = await decodeImage(readFileSync(file));
          const batch = tf.tidy(() => tf.expandDims(imageToInput(image, normalization, geometry)) as tf.Tensor4D);
          const logits = await runner.predict(batch).finally(() => batch.dispose());
          const size = outputDims(outputSize, image, geometry);
          const [data] = await classMasksAt(logits, geometry, [size]).finally(() => logits instanceof Float32Array || logits.dispose());
          const mask = { data, ...size };
          writeFileSync(join(flags.out, `${stem}.mask.png`), encodeMaskPng(mask));
          const frame = size.width === image.width && size.height === image.height ? image : await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
          const pixels = 'data' in frame ? frame.data : new Uint8Array(frame);
          const overlay = blendOverlay(pixels, mask.data, mask.width, mask.height, 3, overlayOptions);
          await sharp(overlay, { raw: { width: mask.width, height: mask.height, channels: 3 } }).png().toFile(join(flags.out, `${stem}.overlay.png`));
          written++;
        } catch (err) {
          log.warn(`skipped ${file}`, { code: (err as SampleError).code, reason: (err as Error).message });
        }
        bar.update(i + 1);
      }
      bar.done();
      await runner.dispose();
      console.log(`wrote ${written} masks and overlays to ${resolve(flags.out)} (model ${card.name} ${card.version} on ${runner.engine}, ${files.length - written} skipped)`);
    });
}
