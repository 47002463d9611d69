/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { syntheticSample } from '../../core/index.js';
import { onnxFileOf } from '../../core/artifacts.js';
import { classCountOf, inputSizeOf, normalizationOf } from '../../core/contract.js';
import { segmentBatch } from '../../core/engine.js';
import { ortRunner } from '../../core/ort_runner.js';
import { imageToInput } from '../../core/preprocess.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { PACKAGE_ROOT } from '../../core/node/package_root.js';
import { tf } from '../../core/node/tfjs.js';
import { parseLabelsOption } from '../../converter/import/labels.js';
import { saveLayersModel } from '../../core/node/artifact_fs.js';
import { convert } from '../../converter/convert.js';
import { importModel } from '../../converter/import/import_model.js';
import { startWebServer } from '../../scripts/web_server.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { buildModel } from '../../trainer/models/index.js';
import { seedWeights } from '../../trainer/models/seeded_weights.js';
import { buildWeb, launchBrowser, openHarness, HARNESS_DIST } from '../../bench/helpers/browser.js';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { IMPORT_FIXTURES } from '../helpers/import_fixtures.js';
import { quiet } from '../helpers/log.js';
import { randomizeBatchNorm, untrainedCard } from '../../bench/helpers/models.js';

interface EngineChoice {
  requested: string;
  chosen: string;
  provider: string | null;
  measuredMs: Record<string, number> | null;
  fromCache: boolean;
}
interface Info {
  backend: string;
  engine: EngineChoice;
  choice: { chosen: string; fromCache: boolean; calibrating: boolean; table: { candidate: string; status: string; medianMs: number | null }[] };
}
type Window = typeof globalThis & {
  edgeseg: {
    createSegmenter(o: { model: string; backend?: string; engine?: string; cache?: boolean }): Promise<{
      info: Info;
      whenCalibrated(): Promise<Info>;
      segment(source: Blob): Promise<{ mask: Uint8Array; engine: string; backend: string }>;
      close(): Promise<void>;
    }>;
  };
};

const CONFIG = { baseFilters: 8, depth: 3 };

/** Masks of PNG fixtures from runtime-web in the page, with the engine's choice. */
function pageMasks(page: Page, o: { model: string; backend: string; engine: string; cache: boolean; images: string[] }) {
  return page.evaluate(async ({ model, backend, engine, cache, images }) => {
    const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend, engine, cache });
    try {
      // auto: wait for the calibration, so every mask comes from the final choice.
      const info = await seg.whenCalibrated();
      const masks: number[][] = [];
      const engines: string[] = [];
      for (const b64 of images) {
        const r = await seg.segment(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
        masks.push(Array.from(r.mask));
        engines.push(`${r.engine}-${r.backend}`);
      }
      return { choice: info.engine, table: info.choice, backend: info.backend, masks, engines };
    } finally {
      await seg.close();
    }
  }, o);
}

describe('runtime-web ONNX Runtime Web engine in Chromium', () => {
  let server: Awaited<ReturnType<typeof startWebServer>>;
  let images: string[];
  let deeplab: Awaited<ReturnType<typeof importModel>>;
  const model = '/models/unet-small/1-fp32/';

  before(async () => {
    await activateWasm();
    const root = tempDir('web-ort');
    const { model: layers } = buildModel('unet-small', CONFIG);
    seedWeights(layers, 21);
    randomizeBatchNorm(layers);
    const parent = join(root, 'unet-small', '1');
    await saveLayersModel(layers, parent, untrainedCard('unet-small', '1', 'unet-small', CONFIG));
    layers.dispose();
    await Promise.all([buildWeb(), convert({ model: parent, precision: 'fp32', format: 'both', models: root, backend: 'wasm', log: quiet, onProgress: () => {} })]);
    // One network, imported twice: as tf2onnx's NCHW ONNX file and as the Keras file it came from.
    await importModel({ path: join(IMPORT_FIXTURES, 'unet_nchw.onnx'), name: 'byo-onnx', models: root, normalize: 'imagenet' });
    await importModel({ path: join(IMPORT_FIXTURES, 'unet_k3.keras'), name: 'byo-keras', models: root, normalize: 'imagenet' });
    // The DeepLab teacher as `edgeseg import` makes it: 513×513, 21 PASCAL classes, int8 QDQ ONNX.
    deeplab = await importModel({ path: join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/deeplabv3_mnv2_pascal_quant.tflite'), name: 'deeplab', models: root, labels: parseLabelsOption(join(PACKAGE_ROOT, 'data/deeplabv3-mnv2-pascal/pascal_voc_segmentation_labels.txt')) });
    server = await startWebServer({ dist: HARNESS_DIST, models: root });
    images = await Promise.all(
      [
        [0, 128, 128],
        [1, 200, 150],
        [2, 96, 160],
      ].map(async ([i, w, h]) => {
        const s = syntheticSample(i, { size: 128, seed: 4 });
        return (await sharp(s.image.data, { raw: { width: 128, height: 128, channels: 3 } }).resize(w, h, { fit: 'fill' }).png().toBuffer()).toString('base64');
      }),
    );
  });
  after(async () => {
    await server?.close();
  });

  it('gives the masks of the tfjs engine with onnxruntime-web (wasm) for the same version (≥ 99% of pixels per image)', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await openHarness(browser, server.url);
      const tfjs = await pageMasks(page, { model, backend: 'wasm', engine: 'tfjs', cache: false, images });
      const ort = await pageMasks(page, { model, backend: 'wasm', engine: 'ort', cache: false, images });
      assert.deepEqual([tfjs.choice.chosen, tfjs.choice.provider], ['tfjs', null]);
      assert.deepEqual([ort.choice.chosen, ort.choice.provider], ['ort', 'wasm']);
      assert.ok(ort.engines.every((e) => e === 'ort-wasm') && tfjs.engines.every((e) => e === 'tfjs-wasm'));
      ort.masks.forEach((mask, k) => {
        const same = mask.filter((c, i) => c === tfjs.masks[k][i]).length / mask.length;
        assert.ok(same >= 0.99, `image ${k}: ${(100 * same).toFixed(2)}% of pixels agree`);
      });

      // auto measures both engines once, keeps the faster, and remembers the choice for this version and device.
      const first = await pageMasks(page, { model, backend: 'wasm', engine: 'auto', cache: true, images: images.slice(0, 1) });
      assert.equal(first.choice.fromCache, false);
      assert.ok(first.choice.measuredMs!.tfjs! > 0 && first.choice.measuredMs!.ort! > 0, JSON.stringify(first.table));
      assert.equal(first.choice.chosen, first.choice.measuredMs!.ort! < first.choice.measuredMs!.tfjs! ? 'ort' : 'tfjs');
      assert.equal(first.engines[0], `${first.choice.chosen}-wasm`);
      const second = await pageMasks(page, { model, backend: 'wasm', engine: 'auto', cache: true, images: images.slice(0, 1) });
      assert.deepEqual([second.choice.fromCache, second.choice.chosen, second.table.calibrating], [true, first.choice.chosen, false]);
      assert.equal(second.engines[0], `${first.choice.chosen}-wasm`);
    } finally {
      await browser.close();
    }
  });

  it('serves an imported NCHW ONNX model with its own tensor names and normalization: the masks of the same network imported from Keras on tfjs', async () => {
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await openHarness(browser, server.url);
      const keras = await pageMasks(page, { model: '/models/byo-keras/1/', backend: 'wasm', engine: 'tfjs', cache: false, images });
      const onnx = await pageMasks(page, { model: '/models/byo-onnx/1/', backend: 'wasm', engine: 'auto', cache: false, images });
      assert.deepEqual([onnx.choice.chosen, onnx.choice.provider], ['ort', 'wasm']);
      onnx.masks.forEach((mask, k) => {
        const same = mask.filter((c, i) => c === keras.masks[k][i]).length / mask.length;
        assert.ok(same >= 0.99, `image ${k}: ${(100 * same).toFixed(2)}% of pixels agree`);
      });
    } finally {
      await browser.close();
    }
  });

  it('serves the imported DeepLab teacher (513×513, 21 classes) on ONNX Runtime Web: the masks Node gets from the same file, and a cat where the photo has one', async () => {
    const photo = readFileSync(join(PACKAGE_ROOT, 'data/oxford-pets-sample/images/Bengal_1.jpg'));
    // Node: core's preprocessing at the card's size and onnxruntime-node on the same model.onnx.
    const card = deeplab.card;
    const size = inputSizeOf(card);
    const runner = await ortRunner(ort, new Uint8Array(readFileSync(join(deeplab.dir, onnxFileOf(card)!))), { contract: card.contract, threads: 1 });
    const image = await decodeImage(new Uint8Array(photo));
    const batch = tf.tidy(() => tf.expandDims(imageToInput(image, normalizationOf(card), size)) as tf.Tensor4D);
    const [node] = await segmentBatch(runner, batch, classCountOf(card));
    batch.dispose();
    await runner.dispose();
    const browser = await launchBrowser({ webgpu: false });
    try {
      const page = await openHarness(browser, server.url);
      const web = await page.evaluate(async ({ model, jpeg }) => {
        const seg = await (globalThis as Window).edgeseg.createSegmenter({ model, backend: 'wasm', engine: 'auto', cache: false });
        try {
          const r = (await seg.segment(new Blob([Uint8Array.from(atob(jpeg), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }))) as unknown as { mask: Uint8Array; width: number; height: number; engine: string; labels: string[] };
          return { mask: Array.from(r.mask), width: r.width, height: r.height, engine: r.engine, labels: r.labels };
        } finally {
          await seg.close();
        }
      }, { model: '/models/deeplab/1/', jpeg: photo.toString('base64') });
      assert.equal(web.engine, 'ort', 'an ONNX-only version runs on ONNX Runtime Web');
      assert.deepEqual([web.width, web.height], [size.width, size.height]);
      assert.equal(web.labels.length, 21);
      const same = web.mask.filter((c, i) => c === node.mask[i]).length / web.mask.length;
      assert.ok(same >= 0.99, `${(100 * same).toFixed(2)}% of pixels agree with Node`);
      const cat = web.labels.indexOf('cat');
      const share = web.mask.filter((c) => c === cat).length / web.mask.length;
      assert.ok(share > 0.05, `${(100 * share).toFixed(1)}% of the frame is cat`);
    } finally {
      await browser.close();
    }
  });

  it("gives the tfjs engine's masks with ONNX Runtime's WebGPU execution provider (≥ 99% of pixels per image)", async () => {
    const browser = await launchBrowser();
    try {
      const page = await openHarness(browser, server.url);
      const tfjs = await pageMasks(page, { model, backend: 'wasm', engine: 'tfjs', cache: false, images });
      const ort = await pageMasks(page, { model, backend: 'webgpu', engine: 'ort', cache: false, images });
      assert.deepEqual([ort.backend, ort.choice.chosen, ort.choice.provider], ['webgpu', 'ort', 'webgpu']);
      assert.ok(ort.engines.every((e) => e === 'ort-webgpu'));
      ort.masks.forEach((mask, k) => {
        const same = mask.filter((c, i) => c === tfjs.masks[k][i]).length / mask.length;
        assert.ok(same >= 0.99, `image ${k}: ${(100 * same).toFixed(2)}% of pixels agree`);
      });
    } finally {
      await browser.close();
    }
  });
});
