/**
 * Bad HTTP input against both servers (the demo's web server and the service's HTTP face with
 * its feedback route): malformed URLs, a broken registry, bodies that never end on refused
 * requests, slow clients, throwing handlers. Every case must end in a 4xx/5xx or a cut
 * connection, with the server still serving and the feedback store untouched; a refusal of a
 * body the client is still sending must reach that client, status and code (lingering close).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { tempDir } from '../../bench/helpers/fixtures.js';
import { MODEL_CONTRACT } from '../../core/index.js';
import { CARD_SCHEMA } from '../../core/card.js';
import { untrainedCard } from '../../bench/helpers/models.js';
import { FeedbackIngest, feedbackRoutes } from '../../runtime-node/feedback/ingest.js';
import { startHttp } from '../../runtime-node/http/server.js';
import { DEFAULT_LINGER } from '../../runtime-node/http/lingering_close.js';
import { startWebServer } from '../../scripts/web_server.js';
import { FaultTally } from '../helpers/fault_tally.js';

const tally = new FaultTally('http');
after(() => tally.report());

/** Body limit of the feedback route under test: small, so "drained only up to the limit" is visible. */
const LIMIT = 64 * 1024;
/** The most a client is let write before the test calls the server unbounded. */
const CLIENT_CAP = 256 * 1024 * 1024;

/** Raw request over TCP; resolves with the response (status and text) and the bytes written before the server cut or answered and closed. */
function rawRequest(url: string, head: string, body: 'endless' | 'none' | 'stall-headers'): Promise<{ status: number | null; response: string; written: number; closed: boolean }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let written = 0;
    let response = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({ status: m ? Number(m[1]) : null, response, written, closed });
    };
    socket.on('data', (d) => (response += d.toString('latin1')));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      if (body === 'stall-headers') return void socket.write(head.split('\r\n')[0] + '\r\n');
      socket.write(head + '\r\n');
      if (body === 'none') return;
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      const pump = () => {
        while (!done && written < CLIENT_CAP) {
          written += frame.length;
          if (!socket.write(frame)) return void socket.once('drain', pump);
        }
        if (written >= CLIENT_CAP) finish(false);
      };
      pump();
    });
  });
}

const CHUNKED = (path: string, headers: string) => `POST ${path} HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n${headers}`;

async function servers() {
  const root = tempDir('faults-http');
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'demo'), { recursive: true });
  writeFileSync(join(dist, 'demo', 'index.html'), '<!doctype html>');
  const models = join(root, 'models');
  const good = { ...untrainedCard('unet-small', '1', 'unet-small', {}), schema: CARD_SCHEMA, contract: MODEL_CONTRACT, params: 0, weightDtypes: {}, bytes: 0, files: [] };
  for (const [v, text] of [['1', JSON.stringify(good)], ['2', '{'], ['3', 'null'], ['4', '[]'], ['5', JSON.stringify({ ...good, version: '5', precision: 'fp8' })], ['6', JSON.stringify({ ...good, version: '6', contract: { input: 1 } })]] as const) {
    mkdirSync(join(models, 'm', v), { recursive: true });
    writeFileSync(join(models, 'm', v, 'card.json'), text);
  }
  const store = join(root, 'store');
  const timeouts = { headersTimeoutMs: 400, requestTimeoutMs: 2000 };
  const web = await startWebServer({ dist, models, feedback: { store, token: 'tok' }, timeouts });
  const ingest = new FeedbackIngest({ store });
  const routes = {
    ...feedbackRoutes(ingest, { token: 'tok', maxBodyBytes: LIMIT }),
    'GET /boom': () => {
      throw new Error('handler bug');
    },
  };
  const svc = await startHttp({ registry: new Registry(), health: () => ({ live: true, ready: true, detail: {} }), routes, timeouts });
  const storeUntouched = () => assert.ok(!existsSync(store) || readdirSync(store).every((f) => f !== 'versions' && f !== 'objects'), `store holds ${existsSync(store) ? readdirSync(store) : []}`);
  return { web, svc, storeUntouched, close: () => Promise.all([web.close(), svc.close()]) };
}

describe('faults: HTTP', () => {
  it('answers malformed URLs, a broken registry and failing handlers with 4xx/5xx and keeps serving', async () => {
    const s = await servers();
    try {
      const alive = async () => {
        const idx = await fetch(`${s.web.url}/models/index.json`);
        assert.equal(idx.status, 200);
        assert.deepEqual((await idx.json()).map((e: { version: string }) => e.version), ['1'], 'only the readable card is listed');
        assert.equal((await fetch(`${s.svc.url}/healthz`)).status, 200);
      };
      for (const path of ['/models/%', '/models/%E0%A4%A', '/demo/%zz', '/%', '/models/m/1/%c0%ae%c0%ae/card.json', '/models/a%00b']) {
        await tally.case(`web GET ${path}`, async () => {
          const r = await rawRequest(s.web.url, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n`, 'none');
          assert.equal(r.status, 400, `GET ${path}`);
          await alive();
        });
      }
      for (const path of ['/models/..%2f..%2f..%2fetc%2fpasswd', '/models/%2e%2e/%2e%2e/package.json', '/demo/../../../etc/passwd']) {
        await tally.case(`web GET ${path}`, async () => {
          const r = await rawRequest(s.web.url, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n`, 'none');
          assert.ok(r.status === 404 || r.status === 400, `GET ${path} → ${r.status}`);
          await alive();
        });
      }
      for (const path of ['/%', '/feedback%', '/metrics%zz']) {
        await tally.case(`service GET ${path}`, async () => {
          const r = await rawRequest(s.svc.url, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n`, 'none');
          assert.equal(r.status, 400);
          await alive();
        });
      }
      await tally.case('service handler that throws', async () => {
        const r = await fetch(`${s.svc.url}/boom`);
        assert.equal(r.status, 500);
        assert.deepEqual(await r.json(), { error: 'internal error', code: 'INTERNAL' });
        await alive();
      });
      s.storeUntouched();
    } finally {
      await s.close();
    }
  });

  it('answers a client that keeps sending a refused body with the status and code, reading at most the limit, then closes', async () => {
    const s = await servers();
    try {
      const written: number[] = [];
      const cases: [string, string, string, number, string][] = [
        ['service 401 endless chunked', s.svc.url, CHUNKED('/feedback', 'authorization: Bearer nope\r\ncontent-type: application/json\r\n'), 401, 'UNAUTHORIZED'],
        ['service 401 no auth endless', s.svc.url, CHUNKED('/feedback', 'content-type: application/json\r\n'), 401, 'UNAUTHORIZED'],
        ['service 415 endless chunked', s.svc.url, CHUNKED('/feedback', 'authorization: Bearer tok\r\ncontent-type: text/plain\r\n'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['service 413 endless chunked', s.svc.url, CHUNKED('/feedback', 'authorization: Bearer tok\r\ncontent-type: application/json\r\n'), 413, 'FEEDBACK_TOO_LARGE'],
        ['service 413 truthful content-length of 9 MiB', s.svc.url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: application/json\r\ncontent-length: ${9 << 20}\r\n`, 413, 'FEEDBACK_TOO_LARGE'],
        ['service 415 content-length 100 GB, wrong type', s.svc.url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: text/csv\r\ncontent-length: 100000000000\r\n`, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['service 404 endless body', s.svc.url, CHUNKED('/nowhere', ''), 404, 'NOT_FOUND'],
        ['web 401 endless chunked', s.web.url, CHUNKED('/feedback', 'authorization: Bearer tok2\r\ncontent-type: application/json\r\n'), 401, 'UNAUTHORIZED'],
        ['web 415 endless chunked', s.web.url, CHUNKED('/feedback', 'authorization: Bearer tok\r\ncontent-type: application/x-www-form-urlencoded\r\n'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['web 413 content-length 100 GB', s.web.url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: application/json\r\ncontent-length: 100000000000\r\n`, 413, 'FEEDBACK_TOO_LARGE'],
        ['web 400 bad URL endless body', s.web.url, CHUNKED('/%', ''), 400, 'BAD_REQUEST'],
      ];
      for (const [name, url, head, status, code] of cases) {
        await tally.case(name, async () => {
          const r = await rawRequest(url, head, 'endless');
          assert.ok(r.closed, `${name}: the server read ${r.written} bytes without closing the connection`);
          written.push(r.written);
          assert.equal(r.status, status, `${name}: the client read ${JSON.stringify(r.response.slice(0, 80))}`);
          assert.match(r.response, new RegExp(`"code":"${code}"`), `${name}: the error code reached the client`);
          assert.equal((await fetch(`${url}/healthz`)).status >= 200, true);
        });
      }
      for (const [name, url, head] of [
        ['web 405 endless body', s.web.url, CHUNKED('/demo/', '')],
        ['service POST /metrics endless', s.svc.url, CHUNKED('/metrics', '')],
      ] as const) {
        await tally.case(name, async () => {
          const r = await rawRequest(url, head, 'endless');
          assert.ok(r.closed, `${name}: the server read ${r.written} bytes without closing the connection`);
          written.push(r.written);
          assert.ok(r.status !== null && r.status >= 200, `${name}: the client read ${JSON.stringify(r.response.slice(0, 80))}`);
        });
      }
      console.log(`refused endless bodies: the clients wrote at most ${Math.max(...written)} bytes before the server closed (it discards at most ${DEFAULT_LINGER.maxBytes} after answering; the rest sat in socket buffers)`);
      await tally.case('declared content-length over the limit', async () => {
        const r = await rawRequest(s.svc.url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: application/json\r\ncontent-length: ${LIMIT * 1000}\r\n`, 'none');
        assert.equal(r.status, 413);
      });
      await tally.case('fetch() posting 9 MiB reads the 413 and its code', async () => {
        const r = await fetch(`${s.svc.url}/feedback`, { method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: Buffer.alloc(9 << 20, 0x20) });
        assert.equal(r.status, 413);
        assert.equal((await r.json()).code, 'FEEDBACK_TOO_LARGE');
      });
      await tally.case('content-length that is not a number', async () => {
        const r = await rawRequest(s.svc.url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: application/json\r\ncontent-length: 12abc\r\n`, 'none');
        assert.equal(r.status, 400);
      });
      s.storeUntouched();
    } finally {
      await s.close();
    }
  });

  it('closes connections that send no headers or never finish their body', async () => {
    const s = await servers();
    try {
      for (const [name, url] of [['service', s.svc.url], ['web', s.web.url]] as const) {
        await tally.case(`${name}: headers never finished`, async () => {
          const r = await rawRequest(url, 'GET /healthz HTTP/1.1\r\nhost: x\r\n', 'stall-headers');
          assert.ok(r.closed);
          assert.ok(r.status === null || r.status === 408 || r.status === 400, `status ${r.status}`);
        });
        await tally.case(`${name}: body never finished`, async () => {
          const r = await rawRequest(url, `POST /feedback HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok\r\ncontent-type: application/json\r\ncontent-length: 100\r\n`, 'none');
          assert.ok(r.closed);
          assert.ok(r.status === null || r.status === 408, `status ${r.status}`);
        });
      }
      s.storeUntouched();
    } finally {
      await s.close();
    }
  });
});
