import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { Room, type RoomOptions } from '../src/index.ts';
import { InertPeerConnection } from '@parley-rtc/test-support/inertPeerConnection';

/**
 * A page reload and TURN credential refresh, with the Room against a real server in Node. Node has
 * no WebRTC, so peer connections are inert stand-ins that record what the Room does to them (the
 * browser e2e test covers a real reload).
 */

/** A Map-backed Storage: what a tab's sessionStorage holds across a reload. */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  /** What survives a reload: the page's JS is gone, its storage is not. */
  copy(): MemoryStorage {
    const next = new MemoryStorage();
    for (const [k, v] of this.items) next.items.set(k, v);
    return next;
  }
}

function harness(server: () => TestServer) {
  const rooms: Room[] = [];
  const pcs: InertPeerConnection[] = [];
  const newRoom = (options: RoomOptions = {}) => {
    const room = new Room({
      createPeerConnection: (config) => {
        const pc = new InertPeerConnection(config);
        pcs.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      ackTimeoutMs: 3000,
      resumeStorage: null,
      ...options,
      // A reloaded page does not reconnect its old socket: it is gone.
      socket: { reconnection: false },
    });
    rooms.push(room);
    return room;
  };
  /** Drops a member's transport on the server side, as a page reload does. */
  const dropTransport = (memberId: string) => {
    const app = server().app;
    const socketId = app.signaling.registry.roomOf(memberId)?.members.get(memberId)?.socketId;
    assert.ok(socketId, 'the member has a socket');
    app.io.sockets.sockets.get(socketId)?.conn.close();
  };
  return { rooms, pcs, newRoom, dropTransport };
}

describe('Room seats across a page reload', () => {
  let server: TestServer;
  const h = harness(() => server);
  before(async () => {
    server = await startServer({ limits: { resumeGraceMs: 30_000 } });
  });
  after(async () => {
    for (const r of h.rooms) r.close();
    await server.close();
  });

  it('a reloaded page takes its seat back: same id, the other sees no peerLeft and rebuilds its link', async () => {
    const storage = new MemoryStorage();
    const alice = h.newRoom({ resumeStorage: storage });
    const bob = h.newRoom();
    const self = await alice.connect(server.app.url, { room: 'reload', name: 'Alice' });
    assert.equal(storage.items.size, 1, 'the resume secret is stored');
    await bob.connect(server.app.url, { room: 'reload', name: 'Bob' });
    await waitFor(() => bob.peers.length === 1 && bob.peerConnection(self.id) !== undefined, 5000, 'Bob links to Alice');
    const oldLink = bob.peerConnection(self.id) as unknown as InertPeerConnection;
    const left: string[] = [];
    bob.on('peerLeft', (p) => left.push(p.id));

    const afterReload = storage.copy();
    h.dropTransport(self.id);
    const seat = () => server.app.signaling.registry.roomOf(self.id)?.members.get(self.id);
    await waitFor(() => seat()?.socketId === undefined, 5000, 'the seat is detached');
    const reloaded = h.newRoom({ resumeStorage: afterReload });
    const again = await reloaded.connect(server.app.url, { room: 'reload', name: 'Alice' });
    assert.equal(again.id, self.id, 'same peer id after the reload');
    assert.deepEqual(
      reloaded.peers.map((p) => p.name),
      ['Bob'],
    );
    await waitFor(() => bob.peerConnection(self.id) !== (oldLink as unknown as RTCPeerConnection), 5000, 'Bob replaces its link');
    assert.equal(oldLink.closed, true, 'the dead link is closed');
    assert.deepEqual(
      bob.peers.map((p) => p.id),
      [self.id],
    );
    assert.deepEqual(left, [], 'nobody saw Alice leave');
  });

  it('leave() forgets the stored secret: the next page joins as a new member', async () => {
    const storage = new MemoryStorage();
    const first = h.newRoom({ resumeStorage: storage });
    const self = await first.connect(server.app.url, { room: 'leave-forgets', name: 'Carol' });
    await first.leave();
    assert.equal(storage.items.size, 0);
    const next = h.newRoom({ resumeStorage: storage });
    assert.notEqual((await next.connect(server.app.url, { room: 'leave-forgets', name: 'Carol' })).id, self.id);
  });

  it('ignores a stored entry that is not ours to trust (garbage, another room)', async () => {
    const storage = new MemoryStorage();
    const room = h.newRoom({ resumeStorage: storage });
    storage.setItem(`parley:resume:${server.app.url}#garbage`, '{not json');
    await room.connect(server.app.url, { room: 'garbage', name: 'Dan' });
    assert.equal(room.self?.name, 'Dan');
  });
});

describe('TURN credentials refreshed before they expire', () => {
  let server: TestServer;
  const h = harness(() => server);
  before(async () => {
    server = await startServer({
      auth: { secret: 'room-seats-test-secret-0123456789' },
      turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: 'r'.repeat(24), ttlSec: 3600 },
    });
  });
  after(async () => {
    for (const r of h.rooms) r.close();
    await server.close();
  });

  const turnUser = (config: RTCConfiguration) => config.iceServers?.find((s) => s.username !== undefined)?.username;

  it('refreshes at 80% of the lifetime, applies the result to live links, and a newer token extends it', async () => {
    const token = (identity: string, ttlSec: number) => server.app.tokens.mint({ identity, room: 'ice', ttlSec });
    const a = h.newRoom();
    const b = h.newRoom();
    // A's token lives 3 s, so its credentials do too: the Room asks again at about 2.4 s.
    const issued = Math.floor(Date.now() / 1000);
    await a.connect(server.app.url, { room: 'ice', name: 'A', token: token('a', 3) });
    const bSelf = await b.connect(server.app.url, { room: 'ice', name: 'B', token: token('b', 600) });
    await waitFor(() => a.peerConnection(bSelf.id) !== undefined, 5000, 'A links to B');
    const pc = a.peerConnection(bSelf.id) as unknown as InertPeerConnection;
    const first = turnUser(pc.config);
    assert.ok(first, 'the link starts with TURN credentials');
    assert.ok(Number(first.split(':')[0]) <= issued + 3 + 1, 'they end with the token');
    await waitFor(() => pc.reconfigured > 0, 6000, 'a refresh applied to the live link');
    assert.equal(turnUser(pc.config), first, 'the token still caps them');

    a.updateToken(token('a', 600));
    await waitFor(() => turnUser(pc.config) !== first, 5000, 'longer credentials after the new token');
    assert.ok(Number(turnUser(pc.config)!.split(':')[0]) > Number(first.split(':')[0]) + 100);
  });
});
