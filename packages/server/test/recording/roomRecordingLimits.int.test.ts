/**
 * Room recording limits and the other ways to start one, on a real server with real ffmpeg: a
 * recording that reaches its size cap stops with a RECORDING_SIZE_CAP event (the server carries
 * on); members with the `record` grant start and stop recordings with client events; three
 * recordings end at once and at most the configured two compositions run together; a managed room
 * whose policy is to always record is recorded while someone is in it; retention deletes old ones.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordingState, RoomRecording } from '@parley-rtc/protocol';
import { startServer, request, collect, data, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { Bot, prepareAudioClip, prepareVideoClip, type EncodedClip } from '@parley-rtc/bots';
import { roomRecordingsOf } from '../../src/media/recording/room/feature.ts';
import { WebhookReceiver } from '../webhooks/receiver.ts';

const ADMIN = 'admin-key-for-tests';
const CAP = 150_000;
let server: TestServer;
let receiver: WebhookReceiver;
let video: EncodedClip;
let audio: EncodedClip;
const bots: Bot[] = [];

before(async () => {
  video = await prepareVideoClip({ source: 'testsrc', width: 160, height: 120, fps: 15, bitrateKbps: 150, gop: 15, seconds: 4 });
  audio = await prepareAudioClip({ source: 'tone', seconds: 2 });
  receiver = await WebhookReceiver.start();
  server = await startServer({
    adminKey: ADMIN,
    webhooks: { urls: [receiver.url], secret: 'webhook-only-secret-0123' },
    media: {
      bindAddress: '127.0.0.1',
      roomRecording: { maxBytes: CAP, composeConcurrency: 2, width: 320, height: 180, fps: 15, retentionMs: 3_600_000 },
    },
  });
});
after(async () => {
  for (const b of bots) b.close('test over');
  await server?.close();
  await receiver?.close();
  releaseNativeWebRtc();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.app.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function publisher(room: string): Promise<Bot> {
  const b = new Bot({ url: server.app.url, room, name: `pub-${room}`, video, audio, bindAddress: '127.0.0.1' });
  bots.push(b);
  await b.join();
  return b;
}

async function member(room: string): Promise<TestSocket> {
  const socket = await server.connect();
  await request(socket, 'join', { room, name: 'recorder' });
  return socket;
}

const videoMs = (r: RoomRecording) => {
  const t = r.tracks.find((x) => x.kind === 'video');
  return t?.startMs != null && t.endMs != null ? t.endMs - t.startMs : 0;
};

test('a recording that reaches its size cap stops with an error event; the server carries on', async () => {
  await publisher('capped');
  const watcher = await member('capped');
  const states = collect<RecordingState>(watcher, 'recording_state');
  const started = await api<RoomRecording>('POST', '/rooms/capped/recordings', {});
  assert.equal(started.status, 201);
  await waitFor(() => states.items.some((s) => s.error !== undefined), 60_000, 'the error event');
  const stop = states.items.find((s) => s.error)!;
  assert.equal(stop.recording, false);
  assert.equal(stop.error?.code, 'RECORDING_SIZE_CAP');
  const r = await api<RoomRecording>('GET', `/rooms/capped/recordings/${started.body.id}`);
  assert.equal(r.body.stopReason, 'size-cap');
  assert.match(r.body.error ?? '', /RECORDING_SIZE_CAP/);
  assert.ok(r.body.bytes >= CAP && r.body.bytes < CAP * 3, `${r.body.bytes} bytes`);
  assert.equal((await api('GET', '/rooms/capped')).status, 200, 'the server still answers');
});

test('members with the record grant start and stop recordings; at most two compositions run at once', async () => {
  const rooms = ['one', 'two', 'three'];
  const sockets: TestSocket[] = [];
  for (const room of rooms) {
    await publisher(room);
    sockets.push(await member(room));
  }
  const ids: string[] = [];
  for (const s of sockets) {
    const state = data(await request<RecordingState>(s, 'recording_start', {}));
    assert.equal(state.recording, true);
    ids.push(state.id!);
  }
  for (const [i, room] of rooms.entries())
    await waitFor(async () => videoMs((await api<RoomRecording>('GET', `/rooms/${room}/recordings/${ids[i]}`)).body) >= 1500, 30_000, room);
  for (const s of sockets) assert.equal(data(await request<RecordingState>(s, 'recording_stop', {})).recording, false);
  const recordings = roomRecordingsOf(server.app)!;
  const states = async () =>
    Promise.all(rooms.map(async (room, i) => (await api<RoomRecording>('GET', `/rooms/${room}/recordings/${ids[i]}`)).body.state));
  await waitFor(
    async () => (await states()).every((s) => s === 'done'),
    180_000,
    'three compositions',
    async () => (await states()).join(),
  );
  assert.equal(recordings.peakComposing, 2, 'two ran together, never more');
  for (const [i, room] of rooms.entries())
    assert.equal((await api<RoomRecording>('GET', `/rooms/${room}/recordings/${ids[i]}`)).body.startedBy, 'member');
  // each composed recording is announced to the backend, under its room's name
  const finished = () =>
    receiver.requests
      .map((r) => JSON.parse(r.body) as { event: string; room: string; recording?: { id: string; state: string } })
      .filter((e) => e.event === 'recording_finished');
  await receiver.until(() => finished().length >= 3, 10_000);
  for (const [i, room] of rooms.entries())
    assert.ok(
      finished().some((e) => e.room === room && e.recording?.id === ids[i] && e.recording?.state === 'done'),
      JSON.stringify(finished()),
    );
});

test('a room whose policy is to always record is recorded while someone is in it', async () => {
  assert.equal((await api('POST', '/rooms', { name: 'policy', alwaysRecord: true })).status, 201);
  const list = async () => (await api<{ recordings: RoomRecording[] }>('GET', '/rooms/policy/recordings')).body.recordings;
  assert.equal((await list()).length, 0, 'nobody is in it yet');
  await publisher('policy');
  await waitFor(async () => (await list()).some((r) => r.state === 'recording' && r.startedBy === 'policy'), 10_000, 'recording by policy');
  assert.equal((await api('PATCH', '/rooms/policy', { alwaysRecord: false })).status, 200);
  await waitFor(async () => (await list()).every((r) => r.state !== 'recording'), 10_000, 'policy off stops it');
});

test('retention deletes recordings (all their files) that ended long enough ago', async () => {
  const recordings = roomRecordingsOf(server.app)!;
  const busy = () => recordings.list().filter((r) => r.state === 'recording' || r.state === 'composing');
  await waitFor(
    () => busy().length === 0,
    120_000,
    'every recording finished',
    () => JSON.stringify(busy().map((r) => r.state)),
  );
  const all = recordings.list();
  assert.ok(all.length >= 5, `${all.length} recordings`);
  assert.equal(recordings.sweep(Date.now()), 0, 'none is an hour old yet');
  assert.equal(recordings.sweep(Date.now() + 2 * 3_600_000), all.length);
  assert.deepEqual(recordings.list(), []);
  assert.deepEqual(readdirSync(join(server.dataDir, 'recordings')), [], 'no file left');
});
