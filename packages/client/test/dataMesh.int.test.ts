import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { ParleyError, Room, type DataMessage } from '../src/index.ts';

/**
 * `room.sendData` and the `data` event in a mesh room: SDK Rooms in Node with real
 * node-datachannel peer connections (data channels only) and a real server.
 */
const API_KEY = 'backend';
const API_SECRET = 'data-mesh-secret-0123456789';

describe('Room app data in mesh rooms', () => {
  let server: TestServer;
  let api: ServerClient;
  const rooms: Room[] = [];
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(async () => {
    for (const r of rooms) r.close();
    await server.close();
    releaseNativeWebRtc();
  });

  async function member(room: string, grants: { data?: boolean } = {}) {
    const { token } = await api.mintToken({ room, identity: `u${rooms.length}`, name: 'N', grants });
    const r = new Room({ createPeerConnection: createNodePeerConnection, ackTimeoutMs: 5000 });
    rooms.push(r);
    const received: DataMessage[] = [];
    r.on('data', (m) => received.push(m));
    const self = await r.connect(server.app.url, { room, name: 'N', token });
    return { room: r, id: self.id, received };
  }

  async function connected(...members: Array<{ room: Room }>) {
    await waitFor(
      () => members.every((m) => m.room.peers.length === members.length - 1 && m.room.dataPathOpen()),
      20_000,
      'data paths',
      () =>
        members
          .map((m) =>
            m.room.peers
              .map(
                (p) =>
                  `${m.room.self?.id}->${p.id}:${p.connectionState}/${m.room.peerConnection(p.id)?.signalingState}/${m.room.dataPathOpen(p.id)}`,
              )
              .join(' '),
          )
          .join(' | '),
    );
  }

  it('delivers reliable messages complete, in order, to the addressed member only', async () => {
    const a = await member('dm-order');
    const b = await member('dm-order');
    const c = await member('dm-order');
    await connected(a, b, c);
    for (let i = 0; i < 300; i++) await a.room.sendData(`to-b ${i}`, { to: [b.id], topic: 'seq' });
    await a.room.sendData('end');
    await waitFor(() => b.received.length === 301 && c.received.length === 1, 10_000, 'deliveries');
    assert.deepEqual(
      b.received.slice(0, 300).map((m) => m.payload),
      Array.from({ length: 300 }, (_, i) => `to-b ${i}`),
    );
    assert.deepEqual(b.received[0], { from: a.id, topic: 'seq', payload: 'to-b 0', reliable: true });
    assert.deepEqual(
      c.received.map((m) => [m.from, m.payload]),
      [[a.id, 'end']],
    );
  });

  it('carries bytes, and lossy messages arrive (most of them on loopback)', async () => {
    const a = await member('dm-lossy');
    const b = await member('dm-lossy');
    await connected(a, b);
    const bytes = Uint8Array.from({ length: LIMITS.dataReliableBytes }, (_, i) => i % 251);
    await a.room.sendData(bytes, { topic: 'blob' });
    for (let i = 0; i < 200; i++) await a.room.sendData(`state ${i}`, { reliable: false, topic: 'cursor' });
    await waitFor(() => b.received.some((m) => m.topic === 'blob') && b.received.filter((m) => !m.reliable).length >= 100, 10_000);
    const blob = b.received.find((m) => m.topic === 'blob');
    assert.ok(blob?.payload instanceof Uint8Array);
    assert.deepEqual(blob.payload, bytes);
    const lossy = b.received.filter((m) => !m.reliable);
    assert.ok(lossy.every((m) => m.from === a.id && m.topic === 'cursor' && typeof m.payload === 'string'));
    assert.equal(new Set(lossy.map((m) => m.payload)).size, lossy.length, 'no duplicates');
  });

  it('refuses oversize payloads and sending without the data grant with typed errors', async () => {
    const a = await member('dm-refuse');
    const b = await member('dm-refuse', { data: false });
    await connected(a, b);
    const tooLarge = (err: unknown) => err instanceof ParleyError && err.code === 'PAYLOAD_TOO_LARGE';
    await assert.rejects(a.room.sendData(new Uint8Array(LIMITS.dataReliableBytes + 1)), tooLarge);
    await assert.rejects(a.room.sendData('x'.repeat(LIMITS.dataLossyBytes + 1), { reliable: false }), tooLarge);
    await assert.rejects(a.room.sendData('x', { topic: 't'.repeat(LIMITS.dataTopicBytes + 1) }), tooLarge);
    await assert.rejects(b.room.sendData('hello'), (err: unknown) => err instanceof ParleyError && err.code === 'FORBIDDEN');
    // Without the grant a member still receives, and the room stays usable.
    await a.room.sendData('still fine');
    await waitFor(() => b.received.length === 1);
    assert.equal(b.received[0]?.payload, 'still fine');
  });
});
