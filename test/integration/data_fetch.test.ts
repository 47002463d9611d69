/**
 * `edgeseg data fetch oxford-pets` against a mirror on 127.0.0.1 serving small archives in the
 * real layout, built here from the sample shipped in data/oxford-pets-sample/.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';
import { create as tarCreate, Header } from 'tar';
import { DatasetFetchError } from '../../core/index.js';
import { downloadResumable } from '../../datasets/fetch/download.js';
import { extractTarGz } from '../../datasets/fetch/extract.js';
import { FaultTally } from '../helpers/fault_tally.js';
import { COMPLETE_MARKER, OXFORD_PETS_URL, pinnedDigests } from '../../datasets/fetch/oxford_pets.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../../bench/helpers/fixtures.js';

const tally = new FaultTally('data fetch');
after(() => tally.report());

/**
 * Gzip of `mib` MiB of zeros, built chunk by chunk (a gzip bomb: about a thousandth of its size),
 * after a tar header declaring one file of that size when `header` is given.
 */
async function gzipOfZeros(mib: number, header?: string): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  if (header) {
    const h = new Header({ path: header, size: mib << 20, type: 'File', mode: 0o644, mtime: new Date(0) });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    gz.write(block);
  }
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  await new Promise<void>((resolve) => gz.end(resolve));
  return Buffer.concat(out);
}

const SAMPLE = fileURLToPath(new URL('../../data/oxford-pets-sample', import.meta.url));

interface Seen {
  path: string;
  range: string | undefined;
  status: number;
}

/** Serves `files` by name under /pets/, with Range support; `cutOnce` names files whose first full response stops halfway. */
async function archiveServer(files: Record<string, Buffer>, cutOnce: Set<string> = new Set()) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const name = new URL(req.url!, 'http://x').pathname.replace(/^\/pets\//, '');
    const body = files[name];
    const range = req.headers.range;
    const record = (status: number) => seen.push({ path: name, range, status });
    if (!body) {
      record(404);
      res.writeHead(404).end();
      return;
    }
    const m = range?.match(/^bytes=(\d+)-$/);
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      record(206);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
      return;
    }
    record(200);
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/gzip' });
    if (cutOnce.delete(name)) {
      // Half the bytes, then the connection drops: what a flaky network does to a 755 MB download.
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}/pets/`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The two archives in the official layout: images.tar.gz holds images/, annotations.tar.gz holds annotations/. */
async function buildArchives(): Promise<{ images: Buffer; annotations: Buffer; imageNames: string[] }> {
  const dir = tempDir('pets-archives');
  const src = join(dir, 'src');
  mkdirSync(src);
  cpSync(join(SAMPLE, 'images'), join(src, 'images'), { recursive: true });
  cpSync(join(SAMPLE, 'annotations'), join(src, 'annotations'), { recursive: true });
  await tarCreate({ gzip: true, cwd: src, file: join(dir, 'images.tar.gz') }, ['images']);
  await tarCreate({ gzip: true, cwd: src, file: join(dir, 'annotations.tar.gz') }, ['annotations']);
  return { images: readFileSync(join(dir, 'images.tar.gz')), annotations: readFileSync(join(dir, 'annotations.tar.gz')), imageNames: readdirSync(join(src, 'images')).sort() };
}

describe('edgeseg data fetch oxford-pets', () => {
  let archives: Awaited<ReturnType<typeof buildArchives>>;
  before(async () => {
    archives = await buildArchives();
  });

  it('resumes a download cut halfway with a Range request, extracts both archives, marks the dataset complete, and does nothing on a second run', async () => {
    const server = await archiveServer({ 'images.tar.gz': archives.images, 'annotations.tar.gz': archives.annotations }, new Set(['images.tar.gz']));
    const dir = join(tempDir('fetch'), 'oxford-iiit-pet');
    try {
      const first = await runCli(['data', 'fetch', 'oxford-pets', '--dir', dir, '--mirror', server.base]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, new RegExp(`^dataset spec: oxford:${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.match(first.stderr, /images\.tar\.gz: attempt 1 stopped .*; resuming/);
      const images = server.seen.filter((s) => s.path === 'images.tar.gz');
      assert.equal(images[0].status, 200);
      assert.equal(images[0].range, undefined);
      const resumed = images.find((s) => s.status === 206);
      assert.ok(resumed, `the second attempt asked for the rest: ${JSON.stringify(images)}`);
      const from = Number(resumed.range!.match(/^bytes=(\d+)-$/)![1]);
      assert.ok(from > 0 && from <= archives.images.length >> 1, `resumed from byte ${from} of ${archives.images.length}`);

      assert.deepEqual(readdirSync(join(dir, 'images')).sort(), archives.imageNames);
      assert.deepEqual(readFileSync(join(dir, 'images', 'Abyssinian_5.jpg')), readFileSync(join(SAMPLE, 'images', 'Abyssinian_5.jpg')));
      assert.deepEqual(readFileSync(join(dir, 'annotations', 'test.txt')), readFileSync(join(SAMPLE, 'annotations', 'test.txt')));
      const marker = JSON.parse(readFileSync(join(dir, COMPLETE_MARKER), 'utf8'));
      assert.equal(marker.source, server.base);
      assert.deepEqual(marker.archives.map((a: { name: string; bytes: number }) => [a.name, a.bytes]), [['images.tar.gz', archives.images.length], ['annotations.tar.gz', archives.annotations.length]]);
      assert.ok(!existsSync(join(dir, '.fetch', 'images.tar.gz')) && !existsSync(join(dir, '.fetch', 'images.tar.gz.part')), 'archives removed after extraction');

      const requests = server.seen.length;
      const second = await runCli(['data', 'fetch', 'oxford-pets', '--dir', dir, '--mirror', server.base]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /already complete; nothing to do/);
      assert.match(second.stdout, /^dataset spec: oxford:/m);
      assert.equal(server.seen.length, requests, 'the second run made no request');
    } finally {
      await server.close();
    }
  });

  it('refuses a corrupt archive with ARCHIVE_CORRUPT and leaves nothing that looks like a dataset', async () => {
    const corrupt = Buffer.from(archives.images);
    // Damage the deflate stream past the gzip header: gunzip fails (bad data or CRC), as a bad mirror file would.
    for (let i = corrupt.length >> 2; i < (corrupt.length >> 2) + 4096; i++) corrupt[i] ^= 0x5a;
    const server = await archiveServer({ 'images.tar.gz': corrupt, 'annotations.tar.gz': archives.annotations });
    const dir = join(tempDir('fetch-corrupt'), 'oxford-iiit-pet');
    try {
      const r = await runCli(['data', 'fetch', 'oxford-pets', '--dir', dir, '--mirror', server.base]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: ARCHIVE_CORRUPT: /m);
      assert.doesNotMatch(r.stdout, /dataset spec:/);
      assert.ok(!existsSync(join(dir, COMPLETE_MARKER)), 'no completion marker');
      assert.ok(!existsSync(join(dir, 'images')) && !existsSync(join(dir, 'annotations')), 'no half-extracted folders');
      assert.deepEqual(readdirSync(join(dir, '.fetch')), [], 'the corrupt archive and the staging folder are gone');
    } finally {
      await server.close();
    }
  });

  it('checks the pinned MD5s for the official URL only', () => {
    assert.deepEqual(pinnedDigests(OXFORD_PETS_URL), { 'images.tar.gz': '5c4f3ee8e5d25df40f4fd59a7f44e54c', 'annotations.tar.gz': '95a8c909bbe2e81eed6a22bccdf3f68f' });
    assert.deepEqual(pinnedDigests(OXFORD_PETS_URL.slice(0, -1)), pinnedDigests(OXFORD_PETS_URL), 'with or without the trailing slash');
    assert.equal(pinnedDigests('http://127.0.0.1:8080/pets/'), null);
  });

  it('refuses archives holding links or paths outside the target with ARCHIVE_UNSAFE', async () => {
    const dir = tempDir('unsafe');
    const src = join(dir, 'src');
    mkdirSync(join(src, 'annotations'), { recursive: true });
    cpSync(join(SAMPLE, 'annotations', 'test.txt'), join(src, 'annotations', 'test.txt'));
    symlinkSync('/etc/passwd', join(src, 'annotations', 'passwd'));
    const archive = join(dir, 'links.tar.gz');
    await tarCreate({ gzip: true, cwd: src, file: archive }, ['annotations']);
    const staging = join(dir, 'staging');
    await assert.rejects(extractTarGz(archive, staging), (e: unknown) => e instanceof DatasetFetchError && e.code === 'ARCHIVE_UNSAFE' && /SymbolicLink/.test(e.message));
    assert.ok(!existsSync(staging), 'nothing left behind');

    const escape = join(dir, 'escape.tar.gz');
    await tarCreate({ gzip: true, cwd: join(src, 'annotations'), file: escape, preservePaths: true }, ['../annotations/test.txt']);
    await assert.rejects(extractTarGz(escape, staging), (e: unknown) => e instanceof DatasetFetchError && e.code === 'ARCHIVE_UNSAFE' && /outside the target/.test(e.message));
    assert.ok(!existsSync(staging));
  });

  it('stops gzip bombs, endless and oversized bodies, and never replaces what the user had in --dir', async () => {
    const dir = tempDir('fetch-hostile');
    await tally.case('gzip bomb: one 512 MiB file of zeros in an archive of ~0.5 MiB', async () => {
      const bomb = join(dir, 'bomb.tar.gz');
      writeFileSync(bomb, await gzipOfZeros(512, 'images/zeros.bin'));
      const staging = join(dir, 'bomb-staging');
      await assert.rejects(extractTarGz(bomb, staging), (e: unknown) => e instanceof DatasetFetchError && e.code === 'ARCHIVE_UNSAFE' && /inflates past/.test(e.message));
      assert.ok(!existsSync(staging), 'nothing left behind');
    });
    await tally.case('gzip bomb: 512 MiB of zeros and no entry (the end of the archive, then padding)', async () => {
      const bomb = join(dir, 'zeros.tar.gz');
      writeFileSync(bomb, await gzipOfZeros(512));
      const staging = join(dir, 'zeros-staging');
      await assert.rejects(extractTarGz(bomb, staging), (e: unknown) => e instanceof DatasetFetchError && e.code === 'ARCHIVE_CORRUPT');
      assert.ok(!existsSync(staging), 'nothing left behind');
    });
    const endless = createServer((req, res) => {
      if (req.url?.includes('liar')) {
        res.writeHead(200, { 'content-length': String(64 * 2 ** 30) });
        res.write(Buffer.alloc(1024));
        return;
      }
      // No Content-Length: chunks until the client stops reading (bounded here for the test's own sake).
      res.writeHead(200);
      let sent = 0;
      const pump = () => {
        while (sent < 256 << 20) {
          sent += 64 << 10;
          if (!res.write(Buffer.alloc(64 << 10, 7))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (sent = Number.POSITIVE_INFINITY));
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(endless.address() as { port: number }).port}`;
    try {
      await tally.case('endless body without Content-Length stops at the cap', async () => {
        const dest = join(dir, 'endless.bin');
        await assert.rejects(downloadResumable(`${base}/endless`, dest, { maxBytes: 1 << 20, attempts: 1 }), (e: unknown) => e instanceof DatasetFetchError && e.code === 'SIZE_MISMATCH');
        assert.ok(!existsSync(dest) && !existsSync(`${dest}.part`), 'no partial file is kept');
      });
      await tally.case('a declared 64 GiB body is refused before it is read', async () => {
        const dest = join(dir, 'liar.bin');
        await assert.rejects(downloadResumable(`${base}/liar`, dest, { maxBytes: 1 << 20, attempts: 1 }), (e: unknown) => e instanceof DatasetFetchError && e.code === 'SIZE_MISMATCH' && /declares/.test(e.message));
        assert.ok(!existsSync(`${dest}.part`));
      });
    } finally {
      endless.closeAllConnections();
      await new Promise<void>((resolve) => endless.close(() => resolve()));
    }
    await tally.case('a --dir that is a file', async () => {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'not a folder');
      const r = await runCli(['data', 'fetch', 'oxford-pets', '--dir', join(file, 'pets'), '--mirror', 'http://127.0.0.1:9/pets/']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^error: FILE_UNREADABLE: --dir .*a-file.*: a part of the path is a file, not a folder \(ENOTDIR\)/m);
    });
    // An archive with a top-level keep/ beside annotations/, fetched into a --dir where the user keeps keep/important.txt.
    const src = join(dir, 'src');
    mkdirSync(join(src, 'keep'), { recursive: true });
    cpSync(join(SAMPLE, 'annotations'), join(src, 'annotations'), { recursive: true });
    writeFileSync(join(src, 'keep', 'important.txt'), 'from the archive');
    await tarCreate({ gzip: true, cwd: src, file: join(dir, 'annotations.tar.gz') }, ['keep', 'annotations']);
    const server = await archiveServer({ 'images.tar.gz': archives.images, 'annotations.tar.gz': readFileSync(join(dir, 'annotations.tar.gz')) });
    try {
      await tally.case("an archive's top-level keep/ leaves the user's keep/ as it was", async () => {
        const target = join(dir, 'pets');
        mkdirSync(join(target, 'keep'), { recursive: true });
        writeFileSync(join(target, 'keep', 'important.txt'), 'mine');
        const r = await runCli(['data', 'fetch', 'oxford-pets', '--dir', target, '--mirror', server.base]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(readFileSync(join(target, 'keep', 'important.txt'), 'utf8'), 'mine');
        assert.deepEqual(readdirSync(join(target, 'keep')), ['important.txt']);
      });
      await tally.case('a --dir whose annotations/ the user made is refused with TARGET_EXISTS, untouched', async () => {
        const target = join(dir, 'pets-taken');
        mkdirSync(join(target, 'annotations'), { recursive: true });
        writeFileSync(join(target, 'annotations', 'mine.txt'), 'mine');
        const r = await runCli(['data', 'fetch', 'oxford-pets', '--dir', target, '--mirror', server.base]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^error: TARGET_EXISTS: /m);
        assert.deepEqual(readdirSync(join(target, 'annotations')), ['mine.txt']);
        assert.ok(!existsSync(join(target, COMPLETE_MARKER)));
      });
    } finally {
      await server.close();
    }
  });
});
