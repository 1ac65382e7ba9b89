import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JoinResult } from '@parley-rtc/protocol';
import { collect, errorCode, nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

const SECRET = 'seats-test-secret-0123456789abcdef';

/** Drops a client's transport as a reload or a flaky network does: no leave, no namespace disconnect. */
function dropTransport(socket: TestSocket): void {
  socket.io.engine.close();
}

describe('seats follow identity, not sockets', () => {
  describe('open mode', () => {
    let server: TestServer;
    before(async () => {
      // The grace outlives the test: only the capacity rule can free the ghosts' seats.
      server = await startServer({
        limits: { maxPeersPerRoom: 50, resumeGraceMs: 120_000 },
        // 800 connections from one address in seconds: this test is about seats, not connection limits.
        rateLimits: { connectionsPerMin: 100_000, connectionBurst: 1000, maxConnectionsPerIp: 1000 },
      });
    });
    after(async () => {
      await server.close();
    });

    async function join(room: string, name: string, extra: Record<string, unknown> = {}) {
      const socket = await server.connect();
      const res = await request<JoinResult>(socket, 'join', { room, name, ...extra });
      return { socket, res };
    }

    const memberOf = (id: string) => server.app.signaling.registry.roomOf(id)?.members.get(id);

    it('churn: 40 rounds of 20 joins whose transports drop never leave a real joiner with ROOM_FULL', async () => {
      const rooms = ['churn-0', 'churn-1', 'churn-2', 'churn-3', 'churn-4'];
      // One real member per room stays connected throughout and must keep its seat.
      const hosts = await Promise.all(rooms.map((room) => join(room, 'Host')));
      const hostIds = hosts.map((h) => (h.res.ok ? h.res.data.self.id : assert.fail('host join failed')));
      const released = hosts.map((h) => collect<{ id: string }>(h.socket, 'peer_left'));
      const refusals: string[] = [];
      let joined = 0;
      for (let round = 0; round < 40; round++) {
        const batch = await Promise.all(Array.from({ length: 20 }, (_, i) => join(rooms[i % rooms.length]!, `Churner ${round}.${i}`)));
        const ids: string[] = [];
        for (const { socket, res } of batch) {
          if (res.ok) ids.push(res.data.self.id);
          else refusals.push(`${round}: ${errorCode(res)}`);
          dropTransport(socket);
        }
        joined += ids.length;
        // The server must have seen every drop before the next round (the seats are then detached).
        await waitFor(
          () => ids.every((id) => memberOf(id) === undefined || memberOf(id)!.socketId === undefined),
          5000,
          `round ${round} detached`,
        );
      }
      assert.deepEqual(refusals, [], 'no joiner is refused while only detached seats fill the room');
      assert.equal(joined, 800);
      for (const [i, room] of rooms.entries()) {
        const live = server.app.signaling.registry.room(room);
        assert.ok(live && live.members.size <= 50, `${room} holds at most 50 seats`);
        assert.ok(live.members.has(hostIds[i]!), `the connected host of ${room} keeps its seat`);
      }
      // Every room took 160 joins into 49 free seats: at least 111 ghosts were released, oldest first.
      for (const r of released) {
        r.stop();
        assert.ok(r.items.length >= 111, `released ${r.items.length} ghosts`);
        assert.ok(!r.items.some((p) => hostIds.includes(p.id)), 'a connected member is never released');
      }
    });

    it('a full room of connected members still refuses, and a dropped one frees its seat (peer_left)', async () => {
      const first = await join('small-seats', 'A');
      assert.ok(first.res.ok);
      const control = await request(first.socket, 'room_control', { action: 'set_max_participants', max: 3 });
      assert.equal(control.ok, true);
      const b = await join('small-seats', 'B');
      const c = await join('small-seats', 'C');
      assert.ok(b.res.ok && c.res.ok);
      assert.equal(errorCode((await join('small-seats', 'D')).res), 'ROOM_FULL');

      const left = nextEvent<{ id: string }>(first.socket, 'peer_left');
      const cId = c.res.data.self.id;
      dropTransport(c.socket);
      await waitFor(() => memberOf(cId)?.socketId === undefined, 5000, 'C detached');
      const e = await join('small-seats', 'E');
      assert.equal(e.res.ok, true, 'the detached seat does not block a joiner');
      assert.deepEqual(await left, { id: cId });
    });

    it('a reloaded page resumes with its stored key (restarted): same id, others see peer_joined but no peer_left', async () => {
      const a = await join('reload-open', 'Alice');
      const b = await join('reload-open', 'Bob');
      assert.ok(a.res.ok && b.res.ok);
      const aId = a.res.data.self.id;
      const leftAtB = collect(b.socket, 'peer_left');
      dropTransport(a.socket);
      await waitFor(() => memberOf(aId)?.socketId === undefined, 5000, 'Alice detached');
      const rejoinedAtB = nextEvent<{ id: string; name: string }>(b.socket, 'peer_joined');
      const again = await join('reload-open', 'Alice', { resume: { peer: aId, key: a.res.data.resumeKey, restarted: true } });
      assert.ok(again.res.ok);
      assert.equal(again.res.data.self.id, aId);
      assert.equal(again.res.data.resumed, true);
      assert.deepEqual(await rejoinedAtB, { id: aId, name: 'Alice', restarted: true }, 'Bob rebuilds its link to the same id');
      // Bob can still reach Alice by the same id.
      const chat = nextEvent<{ text: string }>(again.socket, 'chat_message');
      assert.equal((await request(b.socket, 'chat_message', { text: 'welcome back' })).ok, true);
      assert.equal((await chat).text, 'welcome back');
      leftAtB.stop();
      assert.deepEqual(leftAtB.items, []);
    });

    it('in open mode a second join without the key is a new member (everyone is anonymous)', async () => {
      const a = await join('anon', 'Alice');
      const b = await join('anon', 'Alice');
      assert.ok(a.res.ok && b.res.ok);
      assert.notEqual(a.res.data.self.id, b.res.data.self.id);
      assert.equal(b.res.data.resumed, false);
    });
  });

  describe('with auth on', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ auth: { secret: SECRET }, limits: { resumeGraceMs: 120_000 } });
    });
    after(async () => {
      await server.close();
    });

    const token = (identity: string, room: string) => server.app.tokens.mint({ identity, room });

    async function join(room: string, identity: string, name = identity) {
      const socket = await server.connect();
      const res = await request<JoinResult>(socket, 'join', { room, name, token: token(identity, room) });
      if (!res.ok) throw new Error(`join failed: ${res.error.code}`);
      return { socket, data: res.data };
    }

    it('the same identity joining again takes the seat over: the old socket is told "replaced", nobody sees peer_left', async () => {
      const a = await join('takeover', 'alice');
      const b = await join('takeover', 'bob');
      const leftAtB = collect(b.socket, 'peer_left');
      const ended = nextEvent<{ reason: string; message: string }>(a.socket, 'session_ended');
      const closed = nextEvent<string>(a.socket, 'disconnect');
      const rejoinedAtB = nextEvent<{ id: string }>(b.socket, 'peer_joined');

      const again = await join('takeover', 'alice', 'Alice (phone)');
      assert.equal(again.data.self.id, a.data.self.id, 'same member id');
      assert.equal(again.data.resumed, true);
      assert.notEqual(again.data.resumeKey, a.data.resumeKey, 'the old connection cannot resume it back');
      assert.equal((await ended).reason, 'replaced');
      assert.equal(await closed, 'io server disconnect');
      assert.deepEqual(await rejoinedAtB, { id: a.data.self.id, name: 'Alice (phone)', restarted: true });
      assert.deepEqual(again.data.peers, [b.data.self]);
      assert.equal(server.app.signaling.registry.room('takeover')?.members.size, 2);

      // The seat lives on the new socket: what is sent to the id reaches it, not the old one.
      const offer = nextEvent<{ from: string }>(again.socket, 'offer');
      await request(b.socket, 'offer', { to: a.data.self.id, description: { type: 'offer', sdp: 'v=0' } });
      assert.equal((await offer).from, b.data.self.id);
      leftAtB.stop();
      assert.deepEqual(leftAtB.items, []);
    });

    it('a detached seat of the identity is taken over too (a reload that lost its key)', async () => {
      const a = await join('takeover-2', 'carol');
      const b = await join('takeover-2', 'dave');
      const leftAtB = collect(b.socket, 'peer_left');
      dropTransport(a.socket);
      await waitFor(() => server.app.signaling.registry.roomOf(a.data.self.id)?.members.get(a.data.self.id)?.socketId === undefined);
      const again = await join('takeover-2', 'carol');
      assert.equal(again.data.self.id, a.data.self.id);
      leftAtB.stop();
      assert.deepEqual(leftAtB.items, []);
      // Another identity is another seat.
      const eve = await join('takeover-2', 'eve');
      assert.notEqual(eve.data.self.id, a.data.self.id);
    });
  });
});
