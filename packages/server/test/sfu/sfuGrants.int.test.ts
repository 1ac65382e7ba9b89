import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuProducerClosed, SfuPublishResult } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { data, errorCode, nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { sfuRoomsOf } from '../../src/sfu/feature.ts';
import { PEER_OPTIONS } from '../media/clients.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const OPUS = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 } as const;
const peers: MediaPeer[] = [];
let server: TestServer;
let api: ServerClient;

before(async () => {
  server = await startServer({
    auth: { apiKeys: { k: 'sfu-grants-secret-0123456789' } },
    media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 0 },
  });
  api = createServerClient({ url: server.app.url, apiKey: 'k', apiSecret: 'sfu-grants-secret-0123456789' });
});
after(async () => {
  await server.close();
  for (const p of peers) p.close();
  releaseNativeWebRtc();
});

async function member(room: string, identity: string, grants?: Record<string, unknown>): Promise<{ socket: TestSocket; id: string }> {
  const { token } = await api.mintToken({ room, identity, ...(grants ? { grants } : {}) });
  const socket = await server.connect();
  const id = data(await request<{ self: { id: string } }>(socket, 'join', { room, name: identity, token })).self.id;
  return { socket, id };
}

async function offer(kind: 'audio' | 'video'): Promise<string> {
  const peer = new MediaPeer(`grants-${kind}-${peers.length}`, PEER_OPTIONS);
  peers.push(peer);
  if (kind === 'video') peer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc: randomSsrc() });
  else peer.addTrack({ mid: '0', kind: 'audio', direction: 'send', codec: OPUS, payloadType: 111, ssrc: randomSsrc() });
  return peer.createOffer();
}

test('per-source publish lists and subscribe:false hold in SFU rooms, with typed errors', async () => {
  const a = await member('grants', 'audio-only', { publish: ['audio'], subscribe: false });
  const video = await request(a.socket, 'sfu_publish', { sdp: await offer('video'), source: 'camera' }, 10_000);
  assert.equal(errorCode(video), 'FORBIDDEN');
  assert.match(JSON.stringify(video), /publishing video/);
  data(await request<SfuPublishResult>(a.socket, 'sfu_publish', { sdp: await offer('audio'), source: 'microphone' }, 10_000));
  const sub = await request(a.socket, 'sfu_subscribe', { sdp: await offer('audio'), producerIds: ['any'] });
  assert.equal(errorCode(sub), 'FORBIDDEN');
});

test('a grant change closes what it no longer allows; an admin mute stops forwarding until the member unmutes', async () => {
  const pub = await member('live', 'publisher');
  const watcher = await member('live', 'watcher');
  const cam = data(await request<SfuPublishResult>(pub.socket, 'sfu_publish', { sdp: await offer('video'), source: 'camera' }, 10_000));
  const mic = data(await request<SfuPublishResult>(pub.socket, 'sfu_publish', { sdp: await offer('audio'), source: 'microphone' }, 10_000));
  const router = sfuRoomsOf(server.app)!.router('live')!;
  const micId = mic.producers[0]!.id;

  await api.muteMember('live', pub.id, 'audio');
  assert.equal(router.producer(micId)?.muted, true);
  assert.equal(router.producer(cam.producers[0]!.id)?.muted, false, 'only the asked kind');
  data(await request(pub.socket, 'media_state', { audio: true, video: true, screen: false }));
  assert.equal(router.producer(micId)?.muted, false, 'the member turned its mic back on');

  const closed = nextEvent<SfuProducerClosed>(watcher.socket, 'sfu_producer_closed', 10_000);
  await api.updateMember('live', pub.id, { grants: { publish: ['audio'] } });
  assert.equal((await closed).id, cam.producers[0]!.id);
  assert.equal(router.producer(cam.producers[0]!.id), undefined);
  assert.ok(router.producer(micId), 'audio is still allowed');
});

test('a member that takes its seat over (a reload, the same identity) loses its old SFU connections; the room is told', async () => {
  const pub = await member('restart', 'reloader');
  const watcher = await member('restart', 'watcher');
  const cam = data(await request<SfuPublishResult>(pub.socket, 'sfu_publish', { sdp: await offer('video'), source: 'camera' }, 10_000));
  const producerId = cam.producers[0]!.id;
  const router = sfuRoomsOf(server.app)!.router('restart')!;
  assert.ok(router.producer(producerId));

  const closed = nextEvent<SfuProducerClosed>(watcher.socket, 'sfu_producer_closed', 10_000);
  const { token } = await api.mintToken({ room: 'restart', identity: 'reloader' });
  const reloaded = await server.connect();
  const ack = data(
    await request<{ self: { id: string }; resumed: boolean }>(reloaded, 'join', { room: 'restart', name: 'reloader', token }),
  );
  assert.equal(ack.self.id, pub.id, 'the same member id');
  assert.equal(ack.resumed, true);
  assert.deepEqual(await closed, { id: producerId, peer: pub.id });
  assert.equal(router.producer(producerId), undefined, 'the old connection is gone');
  assert.equal(router.connection(cam.connectionId), undefined);
});
