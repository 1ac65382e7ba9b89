/**
 * A WHIP stream with H.264 video, as OBS publishes by default (aiortc here), recorded without
 * transcoding, by `media.recordWhip` from the start and by `POST /api/recordings`: the `.mkv` has
 * an h264 track of the published size and an Opus track, and decodes fully; the download has the
 * Matroska type, a file name and Range support (206 with the right bytes, 416 past the end); the
 * recording is listed with its codec and plays back over WHEP as `recording:<id>` in H.264.
 * Skipped without python3-aiortc. Every wait has a deadline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from '../media/aiortcClient.ts';
import { decodeFully, probe } from './syncClip.ts';

interface Recording {
  id: string;
  state: string;
  durationMs: number;
  bytes: number;
  container: string;
  video: string | null;
}

let server: TestServer;
let url: string;
const clients: AiortcClient[] = [];

before(async () => {
  if (aiortcMissing) return;
  server = await startServer({ media: { bindAddress: '127.0.0.1', recordWhip: true } });
  url = server.app.url;
});
after(async () => {
  for (const c of clients) await c.close();
  await server?.close();
  releaseNativeWebRtc();
});

async function json<T>(res: Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as T };
}

test(
  'an H.264 WHIP stream is recorded as Matroska, downloads with Range, and plays back',
  { skip: aiortcMissing, timeout: 180_000 },
  async () => {
    const pub = new AiortcClient('whip', `${url}/whip/obs`, ['--codec', 'h264', '--no-candidates']);
    clients.push(pub);
    assert.equal((await pub.waitAnswered()).status, 201, pub.describe());
    await waitFor(
      async () => {
        const { body } = await json<{ streams: Array<{ name: string; video?: string }> }>(fetch(`${url}/api/streams`));
        return body.streams.some((s) => s.name === 'obs' && s.video === 'h264');
      },
      20_000,
      'the live H.264 stream',
    );

    // media.recordWhip records the H.264 stream from the start; stop that one, then record through the API
    let auto: Recording | undefined;
    await waitFor(
      async () => {
        const { body } = await json<{ recordings: Array<Recording & { stream: string }> }>(fetch(`${url}/api/recordings`));
        auto = body.recordings.find((r) => r.stream === 'obs' && r.state === 'recording');
        return auto !== undefined;
      },
      10_000,
      'the WHIP stream recorded by media.recordWhip',
    );
    const autoStopped = await json<{ recording: Recording }>(fetch(`${url}/api/recordings/${auto!.id}`, { method: 'DELETE' }));
    assert.equal(autoStopped.body.recording.container, 'mkv');
    assert.notEqual(autoStopped.body.recording.state, 'recording');
    const started = await json<{ recording: Recording }>(
      fetch(`${url}/api/recordings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'obs' }),
      }),
    );
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const { id } = started.body.recording;
    assert.notEqual(id, auto!.id);
    assert.equal(started.body.recording.container, 'mkv');
    assert.equal(started.body.recording.video, 'h264');
    await waitFor(
      async () => {
        const { body } = await json<{ recordings: Recording[] }>(fetch(`${url}/api/recordings`));
        return (body.recordings.find((r) => r.id === id)?.durationMs ?? 0) >= 3000;
      },
      60_000,
      '3 s of H.264 recorded',
    );
    const stopped = await json<{ recording: Recording }>(fetch(`${url}/api/recordings/${id}`, { method: 'DELETE' }));
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.recording.state, 'done');

    const path = join(server.dataDir, 'recordings', `${id}.mkv`);
    const probed = await probe(path);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video.width, 320);
    assert.equal(video.height, 240);
    assert.equal(probed.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
    assert.match(probed.format, /matroska/);
    assert.ok(probed.duration >= 2.5, `duration ${probed.duration} s`);
    await decodeFully(path);

    // download: type, name, the whole file, a range, a suffix range, unsatisfiable ranges
    const file = readFileSync(path);
    const whole = await fetch(`${url}/api/recordings/${id}/file`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/x-matroska');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.match(whole.headers.get('content-disposition') ?? '', new RegExp(`filename="obs-${id}\\.mkv"`));
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file), 'the whole download is the file');
    const part = await fetch(`${url}/api/recordings/${id}/file`, { headers: { range: 'bytes=100-1099' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1099/${file.length}`);
    assert.equal(part.headers.get('content-length'), '1000');
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(file.subarray(100, 1100)), 'the range is the file’s bytes 100-1099');
    const tail = await fetch(`${url}/api/recordings/${id}/file`, { headers: { range: 'bytes=-16' } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(file.subarray(file.length - 16)));
    for (const range of [`bytes=${file.length}-`, 'bytes=5-2', 'lines=1-2']) {
      const bad = await json<{ error: { code: string } }>(fetch(`${url}/api/recordings/${id}/file`, { headers: { range } }));
      assert.equal(bad.status, 416, range);
      assert.equal(bad.body.error.code, 'RANGE_NOT_SATISFIABLE', range);
    }
    const unsatisfiable = await fetch(`${url}/api/recordings/${id}/file`, { headers: { range: `bytes=${file.length}-` } });
    assert.equal(unsatisfiable.headers.get('content-range'), `bytes */${file.length}`);
    await unsatisfiable.arrayBuffer();

    const { body: streams } = await json<{ streams: Array<{ name: string; video?: string }> }>(fetch(`${url}/api/streams`));
    assert.equal(streams.streams.find((s) => s.name === `recording:${id}`)?.video, 'h264');

    await pub.close();
    const viewer = new AiortcClient('whep', `${url}/whep/recording:${id}`);
    clients.push(viewer);
    assert.equal((await viewer.waitAnswered()).status, 201, viewer.describe());
    const seen = await viewer.waitStats('10 decoded frames of the recording', (s) => s.video >= 10, 30_000);
    assert.equal(seen.codec, 'h264');
    assert.equal(seen.width, 320);
    assert.equal(seen.height, 240);
    await viewer.close();
  },
);
