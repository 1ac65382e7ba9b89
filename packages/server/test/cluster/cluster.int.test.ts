import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LogEntry, RoomState } from '@parley-rtc/protocol';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { waitFor } from '@parley-rtc/test-support/poll';
import { collect, nextEvent, request } from '@parley-rtc/test-support/server';
import { postgresSkipReason } from '../postgres.ts';
import { joinAt, startCluster, type TestCluster } from './clusterNodes.ts';

const skip = redisSkipReason() ?? postgresSkipReason();
const ADMIN_KEY = 'cluster-test-admin-key-0123';

describe('three nodes share rooms through Redis and PostgreSQL', { skip }, () => {
  let cluster: TestCluster;
  let urls: string[];
  before(async () => {
    cluster = await startCluster(['node-a', 'node-b', 'node-c'], { adminKey: ADMIN_KEY });
    urls = cluster.nodes.map((n) => n.url);
  });
  after(async () => {
    await cluster?.close();
  });

  it('members on different nodes see each other, and an offer reaches only its target', async () => {
    const a = await joinAt(urls[0]!, 'span', 'Alice');
    const joinedAtA = collect<{ id: string }>(a.socket, 'peer_joined');
    const b = await joinAt(urls[1]!, 'span', 'Bob');
    const joinedAtB = collect<{ id: string }>(b.socket, 'peer_joined');
    const c = await joinAt(urls[2]!, 'span', 'Carol');
    const offersAtC = collect<{ from: string; description: { sdp: string } }>(c.socket, 'offer');

    // The join ack lists the room's members, wherever they are connected.
    assert.deepEqual(a.data.peers, []);
    assert.deepEqual(b.data.peers, [a.data.self]);
    assert.deepEqual(new Set(c.data.peers.map((p) => p.id)), new Set([a.data.self.id, b.data.self.id]));
    await waitFor(() => joinedAtA.items.length === 2 && joinedAtB.items.length === 1, 10_000, 'presence on every node');
    assert.deepEqual(new Set(joinedAtA.items.map((p) => p.id)), new Set([b.data.self.id, c.data.self.id]));
    assert.deepEqual(
      joinedAtB.items.map((p) => p.id),
      [c.data.self.id],
    );

    // A (node a) → B (node b): B gets it; C (node c) gets only what is addressed to C.
    const atB = nextEvent<{ from: string; description: { sdp: string } }>(b.socket, 'offer', 10_000);
    const sent = await request(a.socket, 'offer', { to: b.data.self.id, description: { type: 'offer', sdp: 'v=0 for bob' } });
    assert.equal(sent.ok, true);
    assert.deepEqual(await atB, { from: a.data.self.id, description: { type: 'offer', sdp: 'v=0 for bob' } });
    const candidate = nextEvent<{ from: string }>(a.socket, 'candidate', 10_000);
    await request(b.socket, 'candidate', {
      to: a.data.self.id,
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
    });
    assert.equal((await candidate).from, b.data.self.id);
    const marker = nextEvent<{ from: string }>(c.socket, 'offer', 10_000);
    await request(a.socket, 'offer', { to: c.data.self.id, description: { type: 'offer', sdp: 'v=0 for carol' } });
    await marker;
    assert.deepEqual(
      offersAtC.items.map((o) => o.description.sdp),
      ['v=0 for carol'],
    );

    // A target that is in no room anywhere is refused.
    const bad = await request(a.socket, 'offer', { to: '_nobodyhere00', description: { type: 'offer', sdp: 'v=0' } });
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'PEER_NOT_FOUND');

    // Leaving on one node is seen on the others.
    const left = nextEvent<{ id: string }>(a.socket, 'peer_left', 10_000);
    await request(c.socket, 'leave', {});
    assert.equal((await left).id, c.data.self.id);
    for (const s of [a.socket, b.socket, c.socket]) s.close();
  });

  it('chat written on three nodes at once gets gap-free sequence numbers, delivered once to everyone', async () => {
    const members = await Promise.all(urls.map((url, i) => joinAt(url, 'chat-span', `writer-${i}`)));
    const received = members.map((m) => collect<LogEntry>(m.socket, 'chat_message'));
    const perWriter = 10;
    const acks = await Promise.all(
      members.flatMap((m, i) =>
        Array.from({ length: perWriter }, (_, n) => request<{ seq: number }>(m.socket, 'chat_message', { text: `${i}:${n}` }, 10_000)),
      ),
    );
    const seqs = acks.map((a) => (a.ok ? a.data.seq : -1)).sort((x, y) => x - y);
    const total = members.length * perWriter;
    assert.deepEqual(
      seqs,
      Array.from({ length: total }, (_, i) => i + 1),
    );
    await waitFor(() => received.every((r) => r.items.length >= total), 15_000, 'every entry on every node');
    for (const r of received) {
      assert.equal(r.items.length, total, 'each entry exactly once');
      assert.deepEqual(
        r.items.map((e) => e.seq),
        Array.from({ length: total }, (_, i) => i + 1),
        'in sequence order',
      );
    }
    for (const m of members) m.socket.close();
  });

  it('a room capped at N refuses the N+1st joiner on every node, also when two arrive at once', async () => {
    const admin = await joinAt(urls[0]!, 'capped', 'Admin');
    const set = await request<RoomState>(admin.socket, 'room_control', { action: 'set_max_participants', max: 3 });
    assert.equal(set.ok, true);
    const second = await joinAt(urls[1]!, 'capped', 'Second');
    // One seat left, two joiners on two other nodes at the same moment: exactly one gets it.
    const racing = await Promise.allSettled([joinAt(urls[2]!, 'capped', 'Racer C'), joinAt(urls[0]!, 'capped', 'Racer A')]);
    const won = racing.filter((r) => r.status === 'fulfilled');
    const lost = racing.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal((lost[0]?.reason as { code?: string }).code, 'ROOM_FULL');
    for (const url of urls) {
      await assert.rejects(joinAt(url, 'capped', 'One too many'), (err: { code?: string }) => err.code === 'ROOM_FULL');
    }
    // The lock holds on every node too (open mode: everyone is an admin, who may enter a locked room,
    // so this checks that the other nodes see the state).
    const locked = nextEvent<RoomState>(second.socket, 'room_state', 10_000);
    await request(admin.socket, 'room_control', { action: 'lock' });
    assert.equal((await locked).locked, true);
    for (const r of won) if (r.status === 'fulfilled') r.value.socket.close();
    admin.socket.close();
    second.socket.close();
  });

  it('GET /api/v1/nodes lists the live nodes with their load, for the admin only', async () => {
    assert.equal((await fetch(`${urls[0]}/api/v1/nodes`)).status, 401);
    const res = await fetch(`${urls[1]}/api/v1/nodes`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { self: string; nodes: Array<{ id: string; address: string; load: { rooms: number } }> };
    assert.equal(body.self, 'node-b');
    assert.deepEqual(
      body.nodes.map((n) => [n.id, n.address]),
      cluster.nodes.map((n) => [n.id, n.url]),
    );
  });
});
