/**
 * edgeseg/runtime-web: on-device segmentation of camera frames in the browser, with every engine
 * (tfjs on webgpu/webgl/wasm, and ONNX Runtime). `edgeseg/runtime-web/tfjs` and
 * `edgeseg/runtime-web/ort` have the same API with one engine each, for a smaller page.
 *
 *   const seg = await createSegmenter({ model: '/models/unet-small/1/', outputSize: 'input' });
 *   const result = await seg.segment(bitmap);
 *   const stream = seg.segmentStream(video, (r) => drawMask(ctx, r, { mode: 'blur', frame: video }));
 *   await seg.close();
 */
export { createSegmenter } from './create_segmenter.js';
export * from './shared_exports.js';
export { browserClientId, fetchModelIndex, pickModel, CLIENT_ID_KEY, DEFAULT_MODEL_INDEX, type ClientIdStorage } from './registry_view.js';
