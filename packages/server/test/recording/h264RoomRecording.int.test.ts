/**
 * A room with an H.264 publisher (aiortc over WHIP, as OBS sends) recorded through the server API
 * (createServerClient): the video track is written without transcoding as Matroska (`.mkv`,
 * V_MPEG4/ISO/AVC) that ffprobe reads as h264 and ffmpeg decodes fully, and the composition
 * accepts it. Skipped without python3-aiortc. Every wait has a deadline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RoomRecording, SfuProducerInfo } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { startServer, request, collect, type TestServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from '../media/aiortcClient.ts';
import { decodeFully, probe, probeVideoFrames } from './syncClip.ts';

const ADMIN = 'admin-key-for-tests';
let server: TestServer;
let api: ServerClient;
let pub: AiortcClient | undefined;

before(async () => {
  if (aiortcMissing) return;
  server = await startServer({ adminKey: ADMIN, media: { bindAddress: '127.0.0.1', roomRecording: { width: 320, height: 240, fps: 15 } } });
  api = createServerClient({ url: server.app.url, bearer: ADMIN });
});
after(async () => {
  await pub?.close();
  await server?.close();
  releaseNativeWebRtc();
});

test(
  'an H.264 publisher is recorded without transcoding: a Matroska track that decodes fully, and a composed file',
  { skip: aiortcMissing, timeout: 240_000 },
  async () => {
    const room = 'h264-rec';
    const ann = await server.connect();
    await request(ann, 'join', { room, name: 'ann' });
    const producers = collect<SfuProducerInfo>(ann, 'sfu_producer');
    pub = new AiortcClient('whip', `${server.app.url}/whip/rooms/${room}?name=obs`, ['--codec', 'h264', '--no-candidates']);
    assert.equal((await pub.waitAnswered()).status, 201, pub.describe());
    await waitFor(() => producers.items.length === 2, 20_000, 'the H.264 publisher’s tracks');

    const started = await api.startRecording(room);
    let r: RoomRecording = started;
    const video = () => r.tracks.find((t) => t.kind === 'video');
    await waitFor(
      async () => {
        r = await api.getRecording(room, started.id);
        const v = video();
        return v?.startMs != null && v.endMs != null && v.endMs - v.startMs >= 3000;
      },
      60_000,
      '3 s of H.264 video recorded',
    );
    const v = video()!;
    assert.equal(v.codec, 'h264');
    assert.equal(v.skipped, undefined);
    assert.match(v.file ?? '', /\.mkv$/);
    assert.equal(r.tracks.find((t) => t.kind === 'audio')?.skipped, undefined);
    await pub.close();
    pub = undefined;
    await api.stopRecording(room, started.id);
    await waitFor(
      async () => ((r = await api.getRecording(room, started.id)), r.state === 'done' || r.state === 'failed'),
      180_000,
      'composed',
    );
    assert.equal(r.state, 'done', r.error);

    const file = join(server.dataDir, 'recordings', started.id, v.file!);
    const s = await probeVideoFrames(file);
    assert.equal(s.codec_name, 'h264');
    assert.equal(s.width, 320);
    assert.ok(s.frames >= 30, `${s.frames} frames decoded`);
    await decodeFully(file);
    assert.ok(r.files.some((f) => f.name === v.file && f.contentType === 'video/x-matroska'));
    const composed = await probe(join(server.dataDir, 'recordings', `${started.id}.webm`));
    assert.deepEqual(composed.kinds.sort(), ['audio', 'video']);
    assert.ok(composed.duration >= 3, `composed ${composed.duration} s`);
  },
);
