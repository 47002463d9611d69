/** The closed loop's parts that need no broker: drift, joined dataset specs, registry moves, the feedback endpoint, the store's pending frames, the gate's rules. */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Registry } from 'prom-client';
import { encodeMaskPng, NUM_CLASSES, syntheticSample, toBase64, type SegmentationMetrics } from '../../core/index.js';
import { formatDatasetSpecs, parseDatasetSpecs } from '../../core/dataset_spec.js';
import { buildDriftReference, DriftMonitor, imageDriftStats, psi, type FrameDriftStats } from '../../core/drift.js';
import { aliases, aliasHistory, gcVersions, listVersions, rollbackAlias, setAlias } from '../../core/node/registry.js';
import { openDataset } from '../../datasets/dataset.js';
import { FeedbackStore } from '../../core/node/feedback_store.js';
import { FeedbackIngest, feedbackRoutes } from '../../runtime-node/feedback/ingest.js';
import { startHttp } from '../../runtime-node/http/server.js';
import { judge, GATE_DEFAULTS } from '../../runtime-node/loop/gate.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

function frameStats(index: number, shift: number): FrameDriftStats {
  const s = syntheticSample(index, { size: 64, seed: 5, shift });
  const coverage = new Array<number>(NUM_CLASSES).fill(0);
  for (const c of s.mask.data) coverage[c] += 1 / s.mask.data.length;
  return { ...imageDriftStats(s.image.data, 64, 64), classCoverage: coverage, meanConfidence: 0.9 };
}

describe('drift detection (PSI against a decile reference)', () => {
  const reference = buildDriftReference(Array.from({ length: 300 }, (_, i) => frameStats(i, 0)), 'synthetic shift=0');

  it('finds no drift in more frames of the training distribution and significant drift in the shifted one', () => {
    const same = Array.from({ length: 100 }, (_, i) => frameStats(1000 + i, 0));
    const shifted = Array.from({ length: 100 }, (_, i) => frameStats(1000 + i, 1));
    const brightness = reference.features.find((f) => f.name === 'brightness')!;
    const b = reference.features.indexOf(brightness);
    const sameBrightness = psi(brightness, same.map((s) => [...s.channelMeans, s.brightness][b]));
    const shiftedBrightness = psi(brightness, shifted.map((s) => s.brightness));
    assert.ok(sameBrightness < 0.1, `same-distribution brightness PSI ${sameBrightness}`);
    assert.ok(shiftedBrightness > 0.25, `shifted brightness PSI ${shiftedBrightness}`);

    const quiet = new DriftMonitor(reference, { window: 100 });
    const reports = same.map((s) => quiet.add(s)).filter((r) => r !== null);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.drift, false, JSON.stringify(reports[0]!.psi));

    const monitor = new DriftMonitor(reference, { window: 50, every: 10 });
    const shiftedReports = shifted.map((s) => monitor.add(s, 'm@1')).filter((r) => r !== null);
    assert.equal(shiftedReports.length, 6); // frames 50, 60, …, 100
    const last = shiftedReports.at(-1)!;
    assert.equal(last.drift, true);
    assert.ok(last.drifted.includes('brightness'), `drifted: ${last.drifted}`);
    assert.equal(last.modelVersion, 'm@1');
  });

  it('refuses a window smaller than the bin count and a reference of too few frames', () => {
    assert.throws(() => new DriftMonitor(reference, { window: 5 }), /window/);
    assert.throws(() => buildDriftReference([frameStats(0, 0)], 'one'), /at least 10 frames/);
  });
});

describe('joined dataset specs (base + feedback)', () => {
  it('parses, formats and opens specs joined with +, keeping ids unique and each source its split', async () => {
    const text = 'synthetic:count=20,size=32,seed=1+synthetic:count=10,size=32,seed=2,shift=1';
    const specs = parseDatasetSpecs(text);
    assert.equal(specs.length, 2);
    assert.equal(formatDatasetSpecs(specs), text);
    const ds = await openDataset(text, { workers: 0, print: () => {} });
    try {
      assert.equal(ds.train.size + ds.val.size, 30);
      const ids = [...ds.train.ids, ...ds.val.ids];
      assert.equal(new Set(ids).size, 30);
      assert.ok(ids.some((id) => id.startsWith('1/')) && ids.some((id) => id.startsWith('0/')));
    } finally {
      await ds.close();
    }
    assert.throws(() => parseDatasetSpecs('synthetic:count=2+bogus:x'), /dataset spec/);
  });
});

describe('registry: promote, rollback, gc', () => {
  function registry(versions: string[]) {
    const root = tempDir('registry');
    for (const v of versions) {
      mkdirSync(join(root, 'm', v), { recursive: true });
      writeFileSync(join(root, 'm', v, 'card.json'), '{}');
    }
    return root;
  }

  it('records alias moves and rolls the champion back to where it was, skipping deleted versions', async () => {
    const root = registry(['1', '2', '3', '3-uint8']);
    assert.equal(await setAlias(root, 'm', 'champion', '1'), null);
    assert.equal(await setAlias(root, 'm', 'champion', '2'), '1');
    await setAlias(root, 'm', 'champion', '3-uint8', 'gate accepted');
    assert.deepEqual(
      aliasHistory(root, 'm').map((h) => [h.from, h.to]),
      [
        [null, '1'],
        ['1', '2'],
        ['2', '3-uint8'],
      ],
    );
    assert.deepEqual(await rollbackAlias(root, 'm'), { from: '3-uint8', to: '2' });
    assert.equal(aliases(root, 'm').champion, '2');
    await assert.rejects(rollbackAlias(root, 'm', 'challenger'), /no 'challenger' alias/);
    await assert.rejects(setAlias(root, 'm', 'champion', '9'), /no complete version 9/);
  });

  it('gc deletes only versions nothing names', async () => {
    const root = registry(['1', '1-uint8', '2', '3', '4', '5', '5-uint8', '6']);
    await setAlias(root, 'm', 'champion', '1-uint8');
    const dry = await gcVersions(root, 'm', { keep: 2, dryRun: true });
    assert.deepEqual(dry, ['2', '3', '4']);
    assert.equal(listVersions(root, 'm').length, 8);
    assert.deepEqual(await gcVersions(root, 'm', { keep: 2 }), ['2', '3', '4']);
    assert.deepEqual(listVersions(root, 'm'), ['1', '1-uint8', '5', '5-uint8', '6']);
  });
});

describe('feedback endpoint (POST /feedback)', () => {
  async function setup() {
    const dir = tempDir('feedback');
    const ingest = new FeedbackIngest({ store: dir });
    const routes = feedbackRoutes(ingest, { token: 's3cret', maxBodyBytes: 200_000 });
    const http = await startHttp({ registry: new Registry(), health: () => ({ live: true, ready: true, detail: {} }), routes });
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${http.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { dir, http, post, store: new FeedbackStore(dir) };
  }
  const sample = syntheticSample(3, { size: 48, seed: 2 });
  const image = async () => toBase64(await sharp(sample.image.data, { raw: { width: 48, height: 48, channels: 3 } }).png().toBuffer());
  const mask = toBase64(encodeMaskPng(sample.mask));

  it('stores a valid label with its posted frame as a new store version', async () => {
    const { http, post, store } = await setup();
    try {
      const res = await post({ frameId: 'demo-1', mask, image: await image(), source: 'demo:corrected', labeler: 'browser' });
      assert.equal(res.status, 201, await res.clone().text());
      assert.deepEqual(await res.json(), { frameId: 'demo-1', version: 1, samples: 1 });
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const v = store.read();
      assert.equal(v.samples[0].id, 'demo-1');
      assert.equal(v.samples[0].source, 'demo:corrected');
      assert.ok(existsSync(store.objectPath(v.samples[0].mask)) && existsSync(store.objectPath(v.samples[0].image)));
      const ds = await openDataset(`feedback:${store.dir}`, { workers: 0, print: () => {} });
      const loaded = await (ds.train.size ? ds.train : ds.val).get(0);
      await ds.close();
      assert.equal(loaded.mask.length, 128 * 128);
      const pre = await fetch(`${http.url}/feedback`, { method: 'OPTIONS' });
      assert.equal(pre.status, 204);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
    } finally {
      await http.close();
    }
  });

  it('refuses bad requests with a 4xx and a named reason, and stores nothing', async () => {
    const { http, post, store, dir } = await setup();
    try {
      const img = await image();
      const cases: [number, string, Promise<Response>][] = [
        [401, 'UNAUTHORIZED', post({ frameId: 'a', mask, image: img, source: 'x' }, { authorization: 'Bearer wrong' })],
        [401, 'UNAUTHORIZED', post({ frameId: 'a', mask, image: img, source: 'x' }, { authorization: '' })],
        [415, 'UNSUPPORTED_MEDIA_TYPE', post({ frameId: 'a', mask, image: img, source: 'x' }, { 'content-type': 'text/plain' })],
        [413, 'FEEDBACK_TOO_LARGE', post({ frameId: 'a', mask, image: 'A'.repeat(300_000), source: 'x' })],
        [400, 'FEEDBACK_INVALID', post('{not json')],
        // Frame ids follow the frame contract's one rule: slashes and spaces are fine, control characters are not.
        [400, 'FEEDBACK_INVALID', post({ frameId: 'a\u0001b', mask, image: img, source: 'x' })],
        [400, 'FEEDBACK_INVALID', post({ frameId: 'a', image: img, source: 'x' })],
        [422, 'MASK_INVALID', post({ frameId: 'a', mask: toBase64(new Uint8Array([1, 2, 3])), image: img, source: 'x' })],
        [422, 'MASK_INVALID', post({ frameId: 'a', mask: toBase64(encodeMaskPng({ data: new Uint8Array(48 * 48).fill(7), width: 48, height: 48 })), image: img, source: 'x' })],
        [422, 'MASK_MISMATCH', post({ frameId: 'a', mask: toBase64(encodeMaskPng({ data: new Uint8Array(32 * 32), width: 32, height: 32 })), image: img, source: 'x' })],
        [422, 'IMAGE_INVALID', post({ frameId: 'a', mask, image: toBase64(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])), source: 'x' })],
        [404, 'FRAME_UNKNOWN', post({ frameId: 'never-seen', mask, source: 'x' })],
      ];
      for (const [status, code, pending] of cases) {
        const res = await pending;
        const body = (await res.json()) as { code: string; error: string };
        assert.equal(res.status, status, `${code}: ${body.error}`);
        assert.equal(body.code, code, body.error);
        assert.ok(body.error.length > 5);
      }
      assert.equal(store.latest(), null);
      assert.ok(!existsSync(join(dir, 'versions')) || readdirSync(join(dir, 'versions')).filter((f) => f.endsWith('.json')).length === 0);
    } finally {
      await http.close();
    }
  });
});

describe('feedback store: pending frames', () => {
  it('keeps a frame for labelling, joins the label to it, then forgets it', async () => {
    const dir = tempDir('pending');
    const store = new FeedbackStore(dir);
    const s = syntheticSample(4, { size: 40, seed: 3 });
    const png = await sharp(s.image.data, { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer();
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
    const frame = (frameId: string, n: number) => ({ frameId, sensorId: 's1', image: store.putObject(png), contentType: 'image/png', modelVersion: 'm@1', score: 0.5, at: at(n) });
    store.putPending(frame('b/../../escape', 2));
    store.putPending(frame('a', 1));
    assert.deepEqual(store.listPending().map((p) => p.frameId), ['a', 'b/../../escape']);
    assert.deepEqual(readdirSync(join(dir, 'pending')).sort(), ['a.json', 'b%2F..%2F..%2Fescape.json']);
    assert.equal(store.getPending('a')?.sensorId, 's1');
    assert.equal(store.getPending('never-seen'), null);

    const ingest = new FeedbackIngest({ store: dir });
    const sample = await ingest.prepare({ frameId: 'a', mask: toBase64(encodeMaskPng(s.mask)), source: 'kafka', at: at(3) });
    assert.equal(sample.image, store.getPending('a')!.image);
    await ingest.commit([sample]);
    assert.equal(store.getPending('a'), null);
    assert.deepEqual(store.listPending().map((p) => p.frameId), ['b/../../escape']);
    assert.equal(store.read().samples[0].id, 'a');
  });
});

describe('gate rules', () => {
  const m = (miou: number): SegmentationMetrics => ({ miou, pixelAccuracy: miou, perClassIou: [miou, miou, miou], perClassDice: [miou, miou, miou], dice: miou, foregroundIou: miou, pixels: 1 });
  it('accepts a better challenger and names every rule a worse one breaks', () => {
    assert.deepEqual(judge({ version: '1', heldOut: m(0.8), feedback: m(0.6) }, { version: '2', heldOut: m(0.805), feedback: m(0.75) }, GATE_DEFAULTS), []);
    const reasons = judge({ version: '1', heldOut: m(0.8), feedback: m(0.7) }, { version: '2', heldOut: m(0.45), feedback: m(0.5) }, GATE_DEFAULTS);
    assert.equal(reasons.length, 3);
    assert.match(reasons[0], /below the floor 50\.00%/);
    assert.match(reasons[1], /35\.00 points below the champion's 80\.00%/);
    assert.match(reasons[2], /feedback-slice mIoU 50\.00% is 20\.00 points below/);
    assert.deepEqual(judge({ version: '1', heldOut: m(0.8), feedback: null }, { version: '2', heldOut: m(0.795), feedback: m(0.1) }, GATE_DEFAULTS), []);
  });
});
