import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley-rtc/protocol';
import { ClientError } from '../src/errors.ts';
import { fileUrl, uploadFile, type FileRoomRef } from '../src/files.ts';
import { formatBytes, isPreviewableImage } from '../src/fileDisplay.ts';

const SHA = 'a'.repeat(64);
const room: FileRoomRef = { serverUrl: 'http://h:1/', roomName: 'a b', session: 'peer1.k3y', token: 'tok' };

/** Just enough of XMLHttpRequest: records the request, answers with `respond`. */
class FakeXhr {
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  status = 0;
  responseText = '';
  responseType = '';
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor(private readonly respond: (x: FakeXhr) => void) {}
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
    queueMicrotask(() => this.respond(this));
  }
  abort() {
    queueMicrotask(() => this.onabort?.());
  }
}

function run(
  respond: (x: FakeXhr) => void,
  options: { signal?: AbortSignal; onProgress?: (p: { loaded: number; total: number }) => void } = {},
) {
  let xhr: FakeXhr | undefined;
  const file = Object.assign(new Blob(['hello'], { type: 'text/plain' }), { name: 'hi.txt' });
  const promise = uploadFile(room, file, {
    ...options,
    createRequest: () => {
      xhr = new FakeXhr(respond);
      return xhr as unknown as XMLHttpRequest;
    },
  });
  return { promise, request: () => xhr };
}

const fileInfo = { id: 'f1', name: 'hi.txt', size: 5, type: 'text/plain', sha256: SHA };
const entry = { seq: 3, ts: 1, from: { id: 'peer1', name: 'A' }, kind: 'file', file: fileInfo };

describe('files', () => {
  it('uploads with the peer header, bearer token, content type and ?name=, and validates the 201', async () => {
    const progress: number[] = [];
    const { promise, request } = run(
      (x) => {
        x.upload.onprogress?.({ loaded: 2, total: 5, lengthComputable: true });
        x.status = 201;
        x.responseText = JSON.stringify({ file: fileInfo, entry });
        x.onload?.();
      },
      { onProgress: (p) => progress.push(p.loaded) },
    );
    const res = await promise;
    assert.deepEqual(res.file, fileInfo);
    assert.equal(res.entry.seq, 3);
    const x = request();
    assert.ok(x);
    assert.equal(x.method, 'POST');
    assert.equal(x.url, 'http://h:1/api/rooms/a%20b/files?name=hi.txt');
    assert.deepEqual(x.headers, { 'Content-Type': 'text/plain', 'X-Parley-Session': 'peer1.k3y', Authorization: 'Bearer tok' });
    assert.deepEqual(progress, [2, 5]);
  });

  it('maps error bodies to ParleyError and rejects malformed answers', async () => {
    const tooLarge = run((x) => {
      x.status = 413;
      x.responseText = JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'big', details: { maxBytes: 10 } } });
      x.onload?.();
    });
    await assert.rejects(
      tooLarge.promise,
      (err: unknown) => err instanceof ParleyError && err.code === 'PAYLOAD_TOO_LARGE' && err.details?.['maxBytes'] === 10,
    );
    const bad = run((x) => {
      x.status = 201;
      x.responseText = JSON.stringify({ file: { ...fileInfo, sha256: 'nope' }, entry });
      x.onload?.();
    });
    await assert.rejects(bad.promise, (err: unknown) => err instanceof ClientError && err.reason === 'invalid-response');
    const html = run((x) => {
      x.status = 502;
      x.responseText = '<html>';
      x.onload?.();
    });
    await assert.rejects(html.promise, (err: unknown) => err instanceof ClientError && err.reason === 'invalid-response');
    const down = run((x) => x.onerror?.());
    await assert.rejects(down.promise, (err: unknown) => err instanceof ClientError && err.reason === 'disconnected');
  });

  it('aborting rejects with ClientError aborted', async () => {
    const abort = new AbortController();
    const { promise } = run(() => abort.abort(), { signal: abort.signal });
    await assert.rejects(promise, (err: unknown) => err instanceof ClientError && err.reason === 'aborted');
    await assert.rejects(
      uploadFile(room, new Blob(['x']), { name: 'x', signal: abort.signal }),
      (err: unknown) => err instanceof ClientError && err.reason === 'aborted',
    );
  });

  it('needs a joined room; builds download links with ?session=', async () => {
    await assert.rejects(
      uploadFile({ ...room, session: undefined }, new Blob(['x']), { name: 'x' }),
      (err: unknown) => err instanceof ClientError && err.reason === 'disconnected',
    );
    assert.equal(fileUrl(room, SHA), `http://h:1/api/rooms/a%20b/files/${SHA}?session=peer1.k3y`);
    assert.throws(() => fileUrl({ ...room, serverUrl: undefined }, SHA), ClientError);
  });

  it('formats sizes and recognises previewable images', () => {
    assert.equal(formatBytes(70), '70 B');
    assert.equal(formatBytes(1500), '1.5 kB');
    assert.equal(formatBytes(50_000), '50 kB');
    assert.equal(formatBytes(104_857_600), '105 MB');
    assert.ok(isPreviewableImage('image/png'));
    assert.ok(isPreviewableImage('IMAGE/JPEG; charset=x'));
    assert.ok(!isPreviewableImage('image/svg+xml'));
    assert.ok(!isPreviewableImage('text/html'));
  });
});
