/**
 * Rooms meet broadcast, with real aiortc clients (Debian's python3-aiortc) and a real server:
 * an aiortc WHIP publisher joins a room as a member and a socket.io member of that room receives
 * its VP8 and Opus through the SFU; OBS-like (no candidates, no PATCH) and trickling publishers
 * connect; aiortc WHEP viewers decode one member, and the room's active speaker as it changes;
 * DELETE ends the member. Skipped without python3-aiortc. Every wait has a deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuMode, SfuProducerInfo, SfuSubscribeResult } from '@parley-rtc/protocol';
import { Bot, prepareAudioClip, prepareVideoClip, type EncodedClip } from '@parley-rtc/bots';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { startServer, request, collect, data, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from './aiortcClient.ts';
import { PEER_OPTIONS, RtpViewer, withRetry } from './clients.ts';

let server: TestServer;
const clients: AiortcClient[] = [];

before(async () => {
  if (aiortcMissing) return;
  server = await startServer({ media: { bindAddress: '127.0.0.1' } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  releaseNativeWebRtc();
});

const opts = { skip: aiortcMissing, timeout: 120_000 };
const aiortc = (mode: 'whip' | 'whep', path: string, flags: string[] = []): AiortcClient => {
  const c = new AiortcClient(mode, `${server.app.url}${path}`, flags);
  clients.push(c);
  return c;
};

const patch = (location: string, body: string, headers: Record<string, string> = {}) =>
  fetch(location, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers }, body });

async function join(room: string, name: string): Promise<{ socket: TestSocket; id: string }> {
  const socket = await server.connect();
  const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name }));
  return { socket, id: joined.self.id };
}

/** Subscribes a member to producers through the SFU and counts what arrives (VP8 key frames, audio packets). */
async function subscribe(socket: TestSocket, producers: SfuProducerInfo[]) {
  const got = { videoPackets: 0, keyFrames: 0, audioPackets: 0 };
  const peer = await withRetry('subscribe', async () => {
    const p = new MediaPeer('member-sub', PEER_OPTIONS);
    producers.forEach((info, i) => {
      const track = p.addTrack({
        mid: String(i),
        kind: info.kind,
        direction: 'recv',
        codec:
          info.kind === 'video'
            ? { kind: 'video', name: 'vp8', clockRate: 90000 }
            : { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 },
        payloadType: info.kind === 'video' ? 96 : 111,
      });
      track.on('rtp', (pkt) => {
        if (info.kind === 'audio') got.audioPackets++;
        else {
          got.videoPackets++;
          if (
            isVp8KeyFrameStart(
              pkt.subarray(12 + 4 * (pkt[0]! & 0x0f) + (pkt[0]! & 0x10 ? 4 + 4 * pkt.readUInt16BE(14 + 4 * (pkt[0]! & 0x0f)) : 0)),
            )
          )
            got.keyFrames++;
        }
      });
    });
    const res = data(
      await request<SfuSubscribeResult>(
        socket,
        'sfu_subscribe',
        { sdp: await p.createOffer(), producerIds: producers.map((x) => x.id) },
        10_000,
      ),
    );
    p.setAnswer(res.answer);
    await p.waitConnected(8000);
    return p;
  });
  return { got, close: () => peer.close() };
}

test('an aiortc WHIP publisher joins the room as a member; a member receives its VP8 and Opus through the SFU', opts, async () => {
  const ann = await join('whip-room', 'ann');
  const joined = collect<{ id: string; name: string }>(ann.socket, 'peer_joined');
  const left = collect<{ id: string }>(ann.socket, 'peer_left');
  const modes = collect<SfuMode>(ann.socket, 'sfu_mode');
  const producers = collect<SfuProducerInfo>(ann.socket, 'sfu_producer');
  const pub = aiortc('whip', '/whip/rooms/whip-room?name=Studio%20cam');
  const answered = await pub.waitAnswered();
  assert.equal(answered.status, 201, answered.body ?? '');
  assert.match(answered.location ?? '', /\/whip\/rooms\/whip-room\/sessions\/[0-9a-f-]{36}$/);
  assert.match(answered.etag ?? '', /^".+"$/);
  assert.match(answered.contentType ?? '', /^application\/sdp/);
  await waitFor(() => joined.items.length === 1, 10_000, 'peer_joined for the WHIP publisher');
  const member = joined.items[0]!;
  assert.equal(member.name, 'Studio cam');
  assert.equal(modes.items.at(-1)?.mode, 'sfu', 'a room with an ingest member runs in SFU mode');
  await waitFor(() => producers.items.length === 2, 15_000, 'the publisher’s video and audio announced');
  assert.deepEqual(producers.items.map((p) => [p.peer, p.kind, p.source]).sort(), [
    [member.id, 'audio', 'microphone'],
    [member.id, 'video', 'camera'],
  ]);
  const sub = await subscribe(ann.socket, producers.items);
  try {
    await waitFor(
      () => sub.got.keyFrames > 0 && sub.got.videoPackets > 30 && sub.got.audioPackets > 50,
      20_000,
      'VP8 key frame and Opus from the WHIP member',
      () => JSON.stringify(sub.got),
    );
  } finally {
    sub.close();
  }
  await pub.close();
  await waitFor(() => left.items.some((l) => l.id === member.id), 10_000, 'peer_left after DELETE');
});

test('an OBS-like publisher (no candidates in its offer, no PATCH) and a trickling one connect', opts, async () => {
  const ann = await join('obs-room', 'ann');
  const producers = collect<SfuProducerInfo>(ann.socket, 'sfu_producer');
  const obs = aiortc('whip', '/whip/rooms/obs-room?name=obs', ['--no-candidates']);
  const trickler = aiortc('whip', '/whip/rooms/obs-room?name=gst', ['--trickle', '--luma', '60']);
  assert.equal((await obs.waitAnswered()).status, 201);
  assert.equal((await trickler.waitAnswered()).status, 201);
  await waitFor(() => trickler.patched !== undefined, 10_000, 'the trickle PATCH');
  assert.equal(trickler.patched, 204);
  await waitFor(
    () => producers.items.length === 4,
    20_000,
    'both publishers’ tracks announced',
    () => JSON.stringify(producers.items),
  );
  // both reach a viewer: the server learnt the OBS-like client's address from its STUN checks
  const byPeer = new Map<string, SfuProducerInfo[]>();
  for (const p of producers.items) byPeer.set(p.peer, [...(byPeer.get(p.peer) ?? []), p]);
  assert.equal(byPeer.size, 2);
  for (const own of byPeer.values()) {
    const sub = await subscribe(ann.socket, own);
    try {
      await waitFor(
        () => sub.got.keyFrames > 0 && sub.got.audioPackets > 20,
        20_000,
        'media from each publisher',
        () => JSON.stringify(sub.got),
      );
    } finally {
      sub.close();
    }
  }
  await obs.close();
  await trickler.close();
});

test('aiortc WHEP viewers decode one member (SDP and /offer-style JSON) and the room’s active speaker as it changes', opts, async () => {
  const ann = await join('watch-room', 'ann');
  const joined = collect<{ id: string; name: string }>(ann.socket, 'peer_joined');
  const producers = collect<SfuProducerInfo>(ann.socket, 'sfu_producer');
  // a quiet bright publisher first, then a loud dark one
  const quiet = aiortc('whip', '/whip/rooms/watch-room?name=quiet', ['--luma', '210', '--amplitude', '2000']);
  await waitFor(() => producers.items.length === 2, 20_000, 'the quiet publisher’s tracks');
  const quietId = joined.items.find((j) => j.name === 'quiet')!.id;

  const ofMember = aiortc('whep', `/whep/rooms/watch-room/${quietId}`);
  const ofMemberJson = aiortc('whep', `/whep/rooms/watch-room/${quietId}`, ['--json']);
  const speaker = aiortc('whep', '/whep/rooms/watch-room');
  assert.equal((await ofMember.waitAnswered()).status, 201);
  assert.equal((await ofMemberJson.waitAnswered()).status, 200);
  assert.equal((await speaker.waitAnswered()).status, 201);
  for (const v of [ofMember, ofMemberJson, speaker]) {
    await v.waitStats(
      'decoded video and audio of the quiet member',
      (s) => s.video > 10 && s.audio > 20 && s.width === 320 && s.luma > 150,
    );
  }
  await quiet.waitStats('the quiet publisher connected', (s) => s.state === 'connected');

  const loud = aiortc('whip', '/whip/rooms/watch-room?name=loud', ['--luma', '40', '--amplitude', '30000']);
  await speaker.waitStats('the active-speaker view switched to the loud member', (s) => s.luma < 100, 30_000);
  await ofMember.moreVideo(10);
  assert.ok(ofMember.stats!.luma > 150, 'the member view still shows the quiet member');

  // the loud member leaves: the active-speaker view goes back to the one still publishing
  await loud.close();
  await speaker.waitStats('the view moved to the remaining publisher', (s) => s.luma > 150, 30_000);
  await speaker.moreVideo(10);
  assert.equal(speaker.running, true);

  // the watched member leaves: its viewers' sessions end
  await quiet.close();
  for (const v of [ofMember, ofMemberJson]) {
    await waitFor(
      async () => (await patch(v.answered!.location!, 'a=mid:0\r\n')).status === 404,
      15_000,
      'the member view’s session ended',
    );
  }
  for (const c of [ofMember, ofMemberJson, speaker]) await c.close();
});

test(
  'PATCH on room sessions: trickle with the current ETag, 412 on a stale one, 501 for an ICE restart, 404/415 for bad input',
  opts,
  async () => {
    await join('patch-room', 'ann');
    const pub = aiortc('whip', '/whip/rooms/patch-room?name=cam');
    const whip = await pub.waitAnswered();
    await pub.waitStats('the publisher connected', (s) => s.state === 'connected');
    const viewer = aiortc('whep', '/whep/rooms/patch-room');
    const whep = await viewer.waitAnswered();
    await viewer.waitStats('the viewer decodes', (s) => s.video > 5);
    const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
    for (const s of [whip, whep]) {
      const location = s.location!;
      const candidate = 'a=mid:0\r\na=candidate:1 1 UDP 2122252543 127.0.0.1 9 typ host\r\n';
      let res = await patch(location, candidate, { 'if-match': s.etag! });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('etag'), s.etag);
      res = await patch(location, candidate, { 'if-match': '"stale"' });
      assert.equal(res.status, 412);
      assert.equal(await code(res), 'PRECONDITION_FAILED');
      res = await patch(location, 'a=ice-ufrag:newfrag\r\na=ice-pwd:newpasswordnewpasswordnew\r\n', { 'if-match': '*' });
      assert.equal(res.status, 501);
      assert.equal(await code(res), 'UNSUPPORTED');
      res = await fetch(location, { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: candidate });
      assert.equal(res.status, 415);
      res = await patch(location.replace(/sessions\/.*/, `sessions/${crypto.randomUUID()}`), candidate);
      assert.equal(res.status, 404);
      assert.equal(await code(res), 'NOT_FOUND');
    }
    // media kept flowing through all of it
    await viewer.moreVideo(10);
    await viewer.close();
    await pub.close();
  },
);

test('bad targets: unknown room or member, nothing published, a WHIP body that is not SDP', opts, async () => {
  const offer =
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n';
  const post = (path: string, body = offer, type = 'application/sdp') =>
    fetch(`${server.app.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  let res = await post('/whep/rooms/no-such-room');
  assert.deepEqual([res.status, await code(res)], [404, 'ROOM_NOT_FOUND']);
  const ann = await join('quiet-room', 'ann');
  const modes = collect<SfuMode>(ann.socket, 'sfu_mode');
  // nobody publishes, even after the room switched to SFU for the viewer (it waits a few seconds)
  res = await post('/whep/rooms/quiet-room');
  assert.deepEqual([res.status, await code(res)], [404, 'NOTHING_PUBLISHED']);
  assert.deepEqual(
    modes.items.map((m) => m.mode),
    ['sfu', 'mesh'],
    'switched to SFU for the request, back to mesh after it',
  );
  res = await post('/whep/rooms/quiet-room/_nobody');
  assert.deepEqual([res.status, await code(res)], [404, 'PEER_NOT_FOUND']);
  res = await post('/whep/rooms/quiet-room', offer, 'text/plain');
  assert.deepEqual([res.status, await code(res)], [415, 'UNSUPPORTED']);
  const pub = aiortc('whip', '/whip/rooms/quiet-room?name=cam');
  assert.equal((await pub.waitAnswered()).status, 201);
  res = await post(`/whep/rooms/quiet-room/${ann.id}`); // a member who publishes nothing
  assert.deepEqual([res.status, await code(res)], [404, 'NOTHING_PUBLISHED']);
  await pub.close();
  const joined = collect(ann.socket, 'peer_joined');
  res = await post('/whip/rooms/quiet-room', 'not sdp');
  assert.deepEqual([res.status, await code(res)], [400, 'BAD_SDP']);
  res = await post('/whip/rooms/bad%20name');
  assert.deepEqual([res.status, await code(res)], [400, 'INVALID_PAYLOAD']);
  // a refused WHIP offer never seats anyone
  await waitFor(() => server.app.signaling.registry.room('quiet-room')?.members.size === 1, 10_000, 'only ann left in the room');
  assert.equal(joined.items.length, 0);
  joined.stop();
});

test('stream WHEP sessions check If-Match too: 412 on a stale ETag, 204 on the current one', opts, async () => {
  const viewer = new RtpViewer('etag-viewer');
  try {
    await viewer.whep(`${server.app.url}/whep/test`);
    const etag = `"${viewer.location.split('/').pop()}"`;
    let res = await patch(viewer.location, 'a=mid:0\r\n', { 'if-match': '"stale"' });
    assert.equal(res.status, 412);
    res = await patch(viewer.location, 'a=mid:0\r\n', { 'if-match': etag });
    assert.equal(res.status, 204);
  } finally {
    await viewer.close();
  }
});

test(
  'watching a mesh room switches it to SFU: its members (bots) publish there and the viewer decodes them; it returns to mesh after',
  opts,
  async () => {
    const media = await botMedia();
    const bots = [1, 2].map(
      (i) => new Bot({ url: server.app.url, room: 'mesh-watch', name: `bot-${i}`, ...media, bindAddress: '127.0.0.1' }),
    );
    try {
      for (const b of bots) await b.join();
      assert.equal(bots[0]!.mode, 'mesh');
      const viewer = aiortc('whep', '/whep/rooms/mesh-watch');
      assert.equal((await viewer.waitAnswered()).status, 201, viewer.describe());
      assert.equal(bots[0]!.mode, 'sfu');
      await viewer.waitStats('the viewer decodes a bot', (s) => s.video > 10 && s.audio > 10);
      await viewer.close();
      await waitFor(() => bots.every((b) => b.mode === 'mesh'), 15_000, 'the room back in mesh mode');
    } finally {
      for (const b of bots) b.close();
    }
  },
);

let clips: Promise<{ video: EncodedClip; audio: EncodedClip }> | undefined;
function botMedia(): Promise<{ video: EncodedClip; audio: EncodedClip }> {
  clips ??= Promise.all([
    prepareVideoClip({ source: 'testsrc', width: 320, height: 240, fps: 15, bitrateKbps: 250, gop: 30, seconds: 4 }),
    prepareAudioClip({ source: 'tone', seconds: 4 }),
  ]).then(([video, audio]) => ({ video, audio }));
  return clips;
}

test('an H.264 publisher (what OBS sends) reaches a member’s WHEP viewer as H.264', opts, async () => {
  const ann = await join('h264-room', 'ann');
  const joined = collect<{ id: string; name: string }>(ann.socket, 'peer_joined');
  const producers = collect<SfuProducerInfo>(ann.socket, 'sfu_producer');
  const pub = aiortc('whip', '/whip/rooms/h264-room?name=obs', ['--codec', 'h264', '--no-candidates']);
  assert.equal((await pub.waitAnswered()).status, 201, pub.describe());
  await waitFor(() => producers.items.length === 2 && joined.items.length === 1, 20_000, 'the H.264 publisher’s tracks');
  const viewer = aiortc('whep', `/whep/rooms/h264-room/${joined.items[0]!.id}`);
  const s = await viewer.waitStats('the viewer decodes H.264', (x) => x.video > 10 && x.audio > 10);
  assert.equal(s.codec, 'h264');
  assert.equal(s.width, 320);
  await viewer.close();
  await pub.close();
});
