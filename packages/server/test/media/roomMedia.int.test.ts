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
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { startServer, request, collect, data, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from './aiortcClient.ts';
import { PEER_OPTIONS, withRetry } from './clients.ts';

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
