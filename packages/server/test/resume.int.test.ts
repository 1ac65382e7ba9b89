import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JoinResult } from '@parley-rtc/protocol';
import { collect, nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

describe('session resume after a dropped signaling connection', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ limits: { resumeGraceMs: 1500 } });
  });
  after(async () => {
    await server.close();
  });

  async function join(room: string, name: string, extra: Record<string, unknown> = {}) {
    const socket: TestSocket = await server.connect();
    const res = await request<JoinResult>(socket, 'join', { room, name, ...extra });
    if (!res.ok) throw new Error(`join failed: ${res.error.code}`);
    return { socket, data: res.data };
  }

  /** Drops the server side of a peer's transport, as a network failure would. */
  function dropTransport(peerId: string): void {
    const socketId = server.app.signaling.registry.roomOf(peerId)?.members.get(peerId)?.socketId;
    assert.ok(socketId, 'the peer has a socket');
    server.app.io.sockets.sockets.get(socketId)?.conn.close();
  }

  it('keeps the peer id, hides the drop from others, and relays to the new socket', async () => {
    const a = await join('resume-1', 'Alice');
    const b = await join('resume-1', 'Bob');
    const leftAtB = collect<{ id: string }>(b.socket, 'peer_left');
    const joinedAtB = collect<{ id: string }>(b.socket, 'peer_joined');
    const gone = nextEvent(a.socket, 'disconnect');
    dropTransport(a.data.self.id);
    await gone;
    await request(b.socket, 'chat_message', { text: 'while away' });

    const again = await join('resume-1', 'Alice', { resume: { peer: a.data.self.id, key: a.data.resumeKey }, lastSeq: a.data.lastSeq });
    assert.equal(again.data.resumed, true);
    assert.equal(again.data.self.id, a.data.self.id);
    assert.deepEqual(
      again.data.entries.map((e) => e.kind === 'chat' && e.text),
      ['while away'],
    );
    assert.deepEqual(again.data.peers, [b.data.self]);

    // Offers addressed to the resumed id reach the new socket.
    const offer = nextEvent<{ from: string }>(again.socket, 'offer');
    await request(b.socket, 'offer', { to: a.data.self.id, description: { type: 'offer', sdp: 'v=0' } });
    assert.equal((await offer).from, b.data.self.id);
    leftAtB.stop();
    joinedAtB.stop();
    assert.deepEqual(leftAtB.items, []);
    assert.deepEqual(joinedAtB.items, []);
  });

  it('ends the session when the grace period runs out', async () => {
    const a = await join('resume-2', 'Alice');
    const b = await join('resume-2', 'Bob');
    const left = nextEvent<{ id: string }>(b.socket, 'peer_left', 5000);
    dropTransport(a.data.self.id);
    assert.deepEqual(await left, { id: a.data.self.id });
    const late = await join('resume-2', 'Alice', { resume: { peer: a.data.self.id, key: a.data.resumeKey } });
    assert.equal(late.data.resumed, false);
    assert.notEqual(late.data.self.id, a.data.self.id);
  });

  it('refuses a wrong key, a different room, and a kicked peer', async () => {
    const a = await join('resume-3', 'Alice');
    dropTransport(a.data.self.id);
    const wrongKey = await join('resume-3', 'Mallory', { resume: { peer: a.data.self.id, key: 'guess' } });
    assert.equal(wrongKey.data.resumed, false);
    assert.notEqual(wrongKey.data.self.id, a.data.self.id);
    const otherRoom = await join('resume-3b', 'Alice', { resume: { peer: a.data.self.id, key: a.data.resumeKey } });
    assert.equal(otherRoom.data.resumed, false);

    const c = await join('resume-4', 'Carol');
    const admin = await join('resume-4', 'Admin');
    assert.equal((await request(admin.socket, 'kick', { peer: c.data.self.id })).ok, true);
    const again = await server.connect();
    const back = await request<JoinResult>(again, 'join', {
      room: 'resume-4',
      name: 'Carol',
      resume: { peer: c.data.self.id, key: c.data.resumeKey },
    });
    assert.equal(back.ok ? 'resumed' : back.error.code, 'FORBIDDEN', 'a kicked peer cannot resume (nor come back through its resume key)');
    assert.equal((await join('resume-4', 'Carol')).data.resumed, false, 'a fresh join is still possible (as in LiveKit; tokens decide)');
  });

  it('a client that leaves on purpose is gone at once', async () => {
    const a = await join('resume-5', 'Alice');
    const b = await join('resume-5', 'Bob');
    const left = nextEvent<{ id: string }>(b.socket, 'peer_left', 1000);
    a.socket.disconnect();
    assert.deepEqual(await left, { id: a.data.self.id });
  });
});
