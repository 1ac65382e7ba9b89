/**
 * Room recording end to end on a real server, real SFU and real ffmpeg/ffprobe: two bots (one
 * plays a clip with a flash and a beep at the same instants; the other joins late and mutes for
 * a while) are recorded through the server API; the per-track files decode fully, the composed
 * file has video and audio of the recording's length, and its flashes and beeps line up within
 * 60 ms. Also: the room hears the indicator, chat is exported, files download with Range, and
 * unknown rooms or recordings get their documented codes. Waits are on conditions, with deadlines.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingState, RoomRecording } from '@parley-rtc/protocol';
import { startServer, request, collect, type TestServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { Bot, prepareAudioClip, prepareVideoClip, type EncodedClip } from '@parley-rtc/bots';
import { beepOnsets, decodeFully, flashOnsets, makeSyncClip, probe, LOOP_S } from './syncClip.ts';

const ADMIN = 'admin-key-for-tests';
let server: TestServer;
let clips: { flash: EncodedClip; beep: EncodedClip; dark: EncodedClip; quiet: EncodedClip };
const bots: Bot[] = [];
const work = mkdtempSync(join(tmpdir(), 'parley-rec-'));

before(async () => {
  const ev = await makeSyncClip(work, true);
  const none = await makeSyncClip(work, false);
  clips = {
    flash: await prepareVideoClip({ source: ev.video }),
    beep: await prepareAudioClip({ source: ev.audio, seconds: LOOP_S }),
    dark: await prepareVideoClip({ source: none.video }),
    quiet: await prepareAudioClip({ source: none.audio, seconds: LOOP_S }),
  };
  server = await startServer({
    adminKey: ADMIN,
    media: { bindAddress: '127.0.0.1', roomRecording: { width: 640, height: 360, fps: 30 } },
  });
});
after(async () => {
  for (const b of bots) b.close('test over');
  await server?.close();
  releaseNativeWebRtc();
  rmSync(work, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.app.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function recording(room: string, id: string): Promise<RoomRecording> {
  const res = await api('GET', `/rooms/${room}/recordings/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as RoomRecording;
}

function bot(room: string, name: string, video: EncodedClip, audio: EncodedClip): Bot {
  const b = new Bot({ url: server.app.url, room, name, video, audio, bindAddress: '127.0.0.1', syncedMedia: true });
  bots.push(b);
  return b;
}

const trackOf = (r: RoomRecording, member: string | undefined, kind: 'audio' | 'video') =>
  r.tracks.find((t) => t.member.id === member && kind === t.kind);
const recordedMs = (r: RoomRecording, member: string | undefined, kind: 'audio' | 'video') => {
  const t = trackOf(r, member, kind);
  return t?.startMs != null && t.endMs != null ? t.endMs - t.startMs : 0;
};

test('a recorded room: per-track files, chat, indicator, and a composed file whose audio and video are in sync', async (t) => {
  const room = 'recorded';
  const a = bot(room, 'flash', clips.flash, clips.beep);
  await a.join();
  const watcher = await server.connect();
  await request(watcher, 'join', { room, name: 'watcher' });
  const states = collect<RecordingState>(watcher, 'recording_state');

  const started = await api('POST', `/rooms/${room}/recordings`, {});
  assert.equal(started.status, 201);
  const { id } = (await started.json()) as RoomRecording;
  await waitFor(() => states.items.some((s) => s.recording && s.id === id), 5000, 'the room hears that it is recorded');
  // the mesh room switched to the SFU; A's tracks get recorded, placed by its sender reports
  let r = await recording(room, id);
  await waitFor(
    async () => ((r = await recording(room, id)), recordedMs(r, a.self?.id, 'video') >= 3000 && recordedMs(r, a.self?.id, 'audio') >= 3000),
    30_000,
    "3 s of A's audio and video recorded",
  );
  assert.equal(trackOf(r, a.self?.id, 'video')?.sync, 'sr');
  assert.equal(trackOf(r, a.self?.id, 'audio')?.sync, 'sr');

  // B joins 3 s into the recording, then mutes for ~2 s
  const b = bot(room, 'late', clips.dark, clips.quiet);
  await b.join();
  await waitFor(async () => ((r = await recording(room, id)), recordedMs(r, b.self?.id, 'video') >= 1000), 30_000, "B's video recorded");
  b.setPaused('audio', true);
  b.setPaused('video', true);
  const mutedAt = r.durationMs;
  await waitFor(async () => ((r = await recording(room, id)), r.durationMs >= mutedAt + 2000), 10_000, '2 s of mute');
  b.setPaused('audio', false);
  b.setPaused('video', false);
  await waitFor(
    async () => ((r = await recording(room, id)), (trackOf(r, b.self?.id, 'video')?.segments.length ?? 0) >= 2),
    20_000,
    "B's video resumes after its mute (a second segment)",
  );
  await a.sendChat('said during the recording');
  await waitFor(async () => ((r = await recording(room, id)), recordedMs(r, a.self?.id, 'video') >= 4 * LOOP_S * 1000), 30_000, '4 loops');

  const stopped = await api('POST', `/rooms/${room}/recordings/${id}/stop`, {});
  assert.equal(stopped.status, 200);
  await waitFor(() => states.items.some((s) => !s.recording && s.id === id), 5000, 'the indicator goes off');
  await waitFor(async () => ((r = await recording(room, id)), r.state === 'done' || r.state === 'failed'), 180_000, 'composed');
  assert.equal(r.state, 'done', r.error);
  assert.equal(r.progress, 1);
  assert.equal(r.stream, `recording:${id}`);

  // per-track files: four, each decodes fully, as long as the track says
  const dir = join(server.dataDir, 'recordings', id);
  assert.equal(r.tracks.filter((t) => t.file).length, 4, JSON.stringify(r.tracks));
  for (const t of r.tracks) {
    await decodeFully(join(dir, t.file!));
    const p = await probe(join(dir, t.file!));
    assert.deepEqual(p.kinds, [t.kind]);
    assert.ok(Math.abs(p.duration * 1000 - (t.endMs! - t.startMs!)) < 500, `${t.file}: ${p.duration} s vs ${t.endMs! - t.startMs!} ms`);
  }
  const bVideo = trackOf(r, b.self?.id, 'video')!;
  assert.ok(bVideo.startMs! >= 3000, `B starts late on the room clock (${bVideo.startMs} ms)`);

  // chat
  const chat = await api('GET', `/rooms/${room}/recordings/${id}/files/chat.json`);
  assert.equal(chat.status, 200);
  assert.match(await chat.text(), /said during the recording/);

  // the composed file: video and audio, the recording's length, and in sync
  const composed = join(server.dataDir, 'recordings', `${id}.webm`);
  await decodeFully(composed);
  const p = await probe(composed);
  assert.deepEqual(p.kinds.sort(), ['audio', 'video']);
  assert.ok(Math.abs(p.duration * 1000 - r.durationMs) < 1000, `composed ${p.duration} s vs ${r.durationMs} ms`);
  const flashes = await flashOnsets(composed);
  const beeps = await beepOnsets(composed);
  assert.ok(flashes.length >= 3, `flashes at ${flashes.join(', ')}`);
  const offsets = flashes.map((f) => beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best) ? b - f : best), Infinity));
  t.diagnostic(`audio − video offsets (ms): ${offsets.map((x) => Math.round(x * 1000)).join(', ')}`);
  for (const o of offsets) assert.ok(Math.abs(o) <= 0.06, `audio − video offsets (s): ${offsets.map((x) => x.toFixed(3)).join(', ')}`);

  // listed, downloadable with Range
  const ranged = await api('GET', `/rooms/${room}/recordings/${id}/files/composed.webm`, undefined, { range: 'bytes=0-99' });
  assert.equal(ranged.status, 206);
  assert.equal((await ranged.arrayBuffer()).byteLength, 100);
  const list = (await (await api('GET', `/rooms/${room}/recordings`)).json()) as { recordings: RoomRecording[] };
  assert.ok(list.recordings.some((x) => x.id === id));
  // the composed file is a stream recording too: playable as recording:<id> over WHEP and /offer
  const streams = (await (await fetch(`${server.app.url}/api/streams`)).json()) as { streams: Array<{ name: string }> };
  assert.ok(
    streams.streams.some((s) => s.name === `recording:${id}`),
    JSON.stringify(streams),
  );
});

test('unknown rooms and recordings get their documented 404 codes', async () => {
  const noRoom = await api('POST', '/rooms/nobody-here/recordings', {});
  assert.equal(noRoom.status, 404);
  assert.equal(((await noRoom.json()) as { error: { code: string } }).error.code, 'ROOM_NOT_FOUND');
  const noRec = await api('GET', '/rooms/recorded/recordings/room-00000000000000-000000');
  assert.equal(noRec.status, 404);
  assert.equal(((await noRec.json()) as { error: { code: string } }).error.code, 'RECORDING_NOT_FOUND');
});
