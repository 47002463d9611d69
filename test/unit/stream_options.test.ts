/** The stream service's options: every default filled in once, bad values refused by name before anything starts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { DEFAULT_GROUP, DEFAULT_SESSION_TIMEOUT_MS, DEFAULT_SLICE_SIZE, resolveStreamOptions } from '../../runtime-node/stream/options.js';

describe('resolveStreamOptions', () => {
  it('fills every default once, deriving concurrency, high water and heartbeats from the resolved values', () => {
    const o = resolveStreamOptions({ model: 'm@champion', brokers: ['127.0.0.1:9092'], workers: 3, topicPrefix: 't.' });
    assert.equal(o.groupId, DEFAULT_GROUP);
    assert.equal(o.sessionTimeoutMs, DEFAULT_SESSION_TIMEOUT_MS);
    assert.equal(o.heartbeatIntervalMs, Math.round(DEFAULT_SESSION_TIMEOUT_MS / 3));
    assert.equal(o.sliceSize, DEFAULT_SLICE_SIZE);
    assert.equal(o.concurrency, 6);
    assert.equal(o.highWater, 24);
    assert.equal(o.topics.frames, 't.frames');
    assert.equal(o.httpPort, 0);
    assert.equal(o.watchModels, true);
    assert.deepEqual([o.labelRequests, o.feedback, o.drift], [null, null, null]);
    assert.equal(resolveStreamOptions({ model: 'm', brokers: ['h:1'], httpPort: null, sessionTimeoutMs: 9000 }).heartbeatIntervalMs, 3000);
    assert.equal(resolveStreamOptions({ model: 'm', brokers: ['h:1'], httpPort: null }).httpPort, null);
  });

  it('refuses bad values naming the option', () => {
    const base = { model: 'm', brokers: ['h:1'] };
    const cases: [object, RegExp][] = [
      [{ ...base, model: '' }, /'model'/],
      [{ ...base, brokers: [] }, /'brokers'/],
      [{ ...base, workers: 0 }, /'workers'/],
      [{ ...base, sliceSize: 2.5 }, /'sliceSize'/],
      [{ ...base, sessionTimeoutMs: -1 }, /'sessionTimeoutMs'/],
      [{ ...base, limits: { maxSide: 0 } }, /'limits\.maxSide'/],
      [{ ...base, httpPort: 70000 }, /'httpPort'/],
    ];
    for (const [options, name] of cases) {
      assert.throws(() => resolveStreamOptions(options as Parameters<typeof resolveStreamOptions>[0]), (e: unknown) => e instanceof ConfigError && name.test(e.message), JSON.stringify(options));
    }
  });
});
