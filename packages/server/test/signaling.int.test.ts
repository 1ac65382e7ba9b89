import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type JoinResult, type OfferRelay, type ChatEntry, type PeerInfo } from '@parley-rtc/protocol';
import { collect, nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

const offer = { type: 'offer' as const, sdp: 'v=0\r\n' };

describe('signaling over a real Socket.IO server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function joined(room: string, name: string): Promise<{ socket: TestSocket; result: JoinResult }> {
    const socket = await server.connect();
    const res = await request<JoinResult>(socket, 'join', { room, name });
    assert.equal(res.ok, true, JSON.stringify(res));
    if (!res.ok) throw new Error('join failed');
    return { socket, result: res.data };
  }

  it('join returns self, existing peers and ice servers; others get peer_joined', async () => {
    const a = await joined('join-room', 'Alice');
    assert.equal(a.result.self.name, 'Alice');
    assert.deepEqual(a.result.peers, []);
    assert.deepEqual(a.result.iceServers, []);
    const joinedEvent = nextEvent<PeerInfo>(a.socket, 'peer_joined');
    const b = await joined('join-room', 'Bob');
    assert.deepEqual(b.result.peers, [{ id: a.result.self.id, name: 'Alice' }]);
    assert.deepEqual(await joinedEvent, { id: b.result.self.id, name: 'Bob' });
  });

  it('relays offer only to the target and overwrites a spoofed from', async () => {
    const a = await joined('relay-room', 'A');
    const b = await joined('relay-room', 'B');
    const c = await joined('relay-room', 'C');
    const atC = collect<OfferRelay>(c.socket, 'offer');
    const atB = nextEvent<OfferRelay>(b.socket, 'offer');
    // A client that claims to be C: the unknown `from` is dropped, and the offer arrives at B
    // only, with `from` set by the server to the real sender.
    const res = await request(a.socket, 'offer', { to: b.result.self.id, from: c.result.self.id, description: offer });
    assert.deepEqual(res, { ok: true, data: null });
    const got = await atB;
    assert.equal(got.from, a.result.self.id);
    assert.deepEqual(got.description, offer);
    // C is in the same room; a chat roundtrip through C proves C's socket is live and caught up.
    const chatAtC = nextEvent<ChatEntry>(c.socket, 'chat_message');
    await request(a.socket, 'chat_message', { text: 'sync' });
    await chatAtC;
    atC.stop();
    assert.equal(atC.items.length, 0, 'the third peer must not see an offer addressed to another');
  });

  it('refuses a target outside the sender’s room', async () => {
    const a = await joined('room-x', 'A');
    const other = await joined('room-y', 'B');
    const res = await request(a.socket, 'candidate', { to: other.result.self.id, candidate: null });
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.error.code, 'PEER_NOT_FOUND');
  });

  it('answers invalid payloads with error codes and keeps the socket connected', async () => {
    const a = await joined('bad-input', 'A');
    const cases: Array<[string, unknown, string]> = [
      ['join', { room: '../etc', name: 'x' }, 'INVALID_PAYLOAD'],
      ['join', { room: 'ok', name: 'x' }, 'ALREADY_IN_ROOM'],
      ['offer', 'not an object', 'INVALID_PAYLOAD'],
      ['answer', { to: 'x', description: { type: 'offer', sdp: '' } }, 'INVALID_PAYLOAD'],
      ['chat_message', { text: '' }, 'INVALID_PAYLOAD'],
      ['chat_message', { text: 'x'.repeat(5000) }, 'INVALID_PAYLOAD'],
      ['room_event', { type: 'bad type!', body: 1 }, 'INVALID_PAYLOAD'],
      ['no_such_event', {}, 'UNSUPPORTED'],
    ];
    for (const [event, payload, code] of cases) {
      const res = await request(a.socket, event, payload);
      assert.equal(res.ok, false, `${event} should fail`);
      if (!res.ok) assert.equal(res.error.code, code, `${event}: ${res.error.message}`);
    }
    assert.equal(a.socket.connected, true);
    const ok = await request<{ seq: number }>(a.socket, 'chat_message', { text: 'still here' });
    assert.equal(ok.ok, true);
  });

  it('needs a room before relaying or chatting', async () => {
    const s = await server.connect();
    const res = await request(s, 'chat_message', { text: 'hi' });
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.error.code, 'NOT_IN_ROOM');
  });

  it('delivers chat with sender, server time and a per-room sequence number', async () => {
    const a = await joined('chat-room', 'Alice');
    const b = await joined('chat-room', 'Bob');
    const atB = collect<ChatEntry>(b.socket, 'chat_message');
    for (const text of ['one', 'two', 'three']) {
      const res = await request<{ seq: number }>(a.socket, 'chat_message', { text });
      assert.equal(res.ok, true);
    }
    await waitFor(() => atB.items.length === 3, 5000, 'three chat messages');
    assert.deepEqual(
      atB.items.map((e) => [e.seq, e.text, e.from.name]),
      [
        [1, 'one', 'Alice'],
        [2, 'two', 'Alice'],
        [3, 'three', 'Alice'],
      ],
    );
    assert.ok(Math.abs(atB.items[0]!.ts - Date.now()) < 60_000);
  });

  it('sends peer_left on disconnect and on leave', async () => {
    const a = await joined('left-room', 'A');
    const b = await joined('left-room', 'B');
    const c = await joined('left-room', 'C');
    const left1 = nextEvent<{ id: string }>(a.socket, 'peer_left');
    b.socket.disconnect();
    assert.deepEqual(await left1, { id: b.result.self.id });
    const left2 = nextEvent<{ id: string }>(a.socket, 'peer_left');
    assert.deepEqual(await request(c.socket, 'leave', {}), { ok: true, data: null });
    assert.deepEqual(await left2, { id: c.result.self.id });
  });

  it('refuses a 1.x client (VERSION_MISMATCH) and accepts any 2.x one', async () => {
    assert.equal(PROTOCOL_VERSION, '2.0');
    const old = await server.connect();
    const refused = await request(old, 'join', { room: 'versions', name: 'Old', protocol: '1.0' });
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.error.code, 'VERSION_MISMATCH');
    for (const protocol of ['2.0', '2.7']) {
      const current = await server.connect();
      const res = await request(current, 'join', { room: 'versions', name: `v${protocol}`, protocol });
      assert.equal(res.ok, true, `${protocol}: ${JSON.stringify(res)}`);
    }
  });

  it('caps the frame size without taking the server down', async () => {
    const a = await joined('frames', 'A');
    const disconnected = nextEvent<string>(a.socket, 'disconnect');
    a.socket.emit('chat_message', { text: 'x'.repeat(300 * 1024) });
    assert.equal(await disconnected, 'transport close');
    const b = await joined('frames', 'B');
    assert.equal(b.socket.connected, true);
  });

  it('refuses joins past the room limit', async () => {
    const small = await startServer({ limits: { maxPeersPerRoom: 2 } });
    try {
      const s1 = await small.connect();
      const s2 = await small.connect();
      const s3 = await small.connect();
      assert.equal((await request(s1, 'join', { room: 'r', name: 'a' })).ok, true);
      assert.equal((await request(s2, 'join', { room: 'r', name: 'b' })).ok, true);
      const res = await request(s3, 'join', { room: 'r', name: 'c' });
      assert.equal(res.ok, false);
      if (!res.ok) assert.equal(res.error.code, 'ROOM_FULL');
    } finally {
      await small.close();
    }
  });
});
