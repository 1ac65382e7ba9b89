import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatEntry } from '@parley-rtc/protocol';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { ClientError, ParleyError, Room, type RoomConnectionState } from '../src/index.ts';
import { waitFor } from '@parley-rtc/test-support/poll';
import { InertPeerConnection } from '@parley-rtc/test-support/inertPeerConnection';

/**
 * Signaling-level tests of the Room against a real server, in Node. Node has no WebRTC, so peer
 * connections are inert fakes: these tests cover membership, the log and reconnects, not media
 * (the browser e2e tests cover media).
 */
const created: InertPeerConnection[] = [];
// A test double standing in for the browser class; only the members PeerLink touches exist.
const createPeerConnection = () => {
  const pc = new InertPeerConnection();
  created.push(pc);
  return pc as unknown as RTCPeerConnection;
};

describe('Room against a real server (signaling only)', () => {
  let server: TestServer;
  const rooms: Room[] = [];
  const newRoom = () => {
    const room = new Room({ createPeerConnection, ackTimeoutMs: 3000, socket: { reconnectionDelay: 50, reconnectionDelayMax: 100 } });
    rooms.push(room);
    return room;
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const r of rooms) r.close();
    await server.close();
  });

  it('joins, sees peers come and go, and gets each chat entry exactly once', async () => {
    const a = newRoom();
    const b = newRoom();
    const states: RoomConnectionState[] = [];
    a.on('connectionState', (s) => states.push(s));
    const selfA = await a.connect(server.app.url, { room: 'sdk-basic', name: 'Alice' });
    assert.equal(selfA.name, 'Alice');
    assert.deepEqual(states, ['connecting', 'connected']);

    const joinedAtA = new Promise<string>((resolve) => a.once('peerJoined', (p) => resolve(p.name)));
    await b.connect(server.app.url, { room: 'sdk-basic', name: 'Bob' });
    assert.equal(await joinedAtA, 'Bob');
    assert.deepEqual(
      b.peers.map((p) => p.name),
      ['Alice'],
    );
    assert.equal(a.peers.length, 1);

    const chatAtA: ChatEntry[] = [];
    const chatAtB: ChatEntry[] = [];
    a.on('chat', (e) => chatAtA.push(e));
    b.on('chat', (e) => chatAtB.push(e));
    const ack = await b.sendChat('hello');
    await waitFor(() => chatAtA.length === 1 && chatAtB.length === 1, 5000, 'chat on both sides');
    assert.equal(chatAtA[0]?.seq, ack.seq);
    assert.equal(chatAtA[0]?.text, 'hello');

    const leftAtA = new Promise<string>((resolve) => a.once('peerLeft', (p) => resolve(p.name)));
    await b.leave();
    assert.equal(await leftAtA, 'Bob');
    assert.equal(b.state, 'disconnected');
    assert.equal(a.peers.length, 0);
  });

  it("peers without a media link still see each other's mute flags, through the server", async () => {
    const a = newRoom();
    const b = newRoom();
    await a.connect(server.app.url, { room: 'sdk-flags', name: 'Alice' });
    // before joining as well as after: the flags go out with the join
    a.setMediaState({ audio: false, video: true, cameraStream: 'cam', screenStream: null });
    await b.connect(server.app.url, { room: 'sdk-flags', name: 'Bob' });
    const aliceAtB = () => b.peers.find((p) => p.name === 'Alice')?.media;
    await waitFor(() => aliceAtB()?.audio === false && aliceAtB()?.video === true, 5000, "Alice's flags at Bob (sent to the joiner)");
    a.setMediaState({ audio: true, video: false, cameraStream: 'cam', screenStream: null });
    await waitFor(() => aliceAtB()?.audio === true && aliceAtB()?.video === false, 5000, "Alice's new flags at Bob");
    // a late joiner gets everyone's flags
    const c = newRoom();
    await c.connect(server.app.url, { room: 'sdk-flags', name: 'Cy' });
    await waitFor(() => c.peers.find((p) => p.name === 'Alice')?.media.audio === true, 5000, "Alice's flags at the late joiner");
    assert.equal(c.peers.find((p) => p.name === 'Bob')?.media.audio, false, 'Bob never sent flags: nothing published, nothing assumed');
  });

  it('resumes the same session after a dropped socket and replays only what it missed', async () => {
    const a = newRoom();
    const b = newRoom();
    await a.connect(server.app.url, { room: 'sdk-reconnect', name: 'Alice' });
    await b.connect(server.app.url, { room: 'sdk-reconnect', name: 'Bob' });
    await b.sendChat('before');
    await waitFor(() => a.log.size === 1, 5000, 'first entry at A');
    const oldId = a.self?.id;
    assert.ok(oldId);
    const leftAtB: string[] = [];
    b.on('peerLeft', (p) => leftAtB.push(p.id));

    const chats: string[] = [];
    a.on('chat', (e) => chats.push(e.text));
    const reconnecting = new Promise<void>((resolve) => a.once('connectionState', (s) => s === 'reconnecting' && resolve()));
    // Cut A's transport from the server side; socket.io-client reconnects by itself.
    const socketId = server.app.signaling.registry.roomOf(oldId)?.members.get(oldId)?.socketId;
    assert.ok(socketId);
    server.app.io.sockets.sockets.get(socketId)?.conn.close();
    await reconnecting;
    await b.sendChat('while away 1');
    await b.sendChat('while away 2');

    await waitFor(() => a.state === 'connected' && a.self !== undefined, 10_000, 'A resumed');
    assert.equal(a.self?.id, oldId, 'a resumed session keeps its peer id');
    await waitFor(() => chats.length === 2, 5000, 'the missed entries');
    assert.deepEqual(chats, ['while away 1', 'while away 2']);
    assert.deepEqual(
      a.log.entries.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.equal(b.peers.length, 1);
    assert.equal(a.peers.length, 1);
    assert.deepEqual(leftAtB, [], 'B never saw A leave');
  });

  it('reports refusals as ParleyError and misuse as ClientError; close() is idempotent', async () => {
    const a = newRoom();
    await assert.rejects(
      a.connect(server.app.url, { room: '../bad', name: 'x' }),
      (err: unknown) => err instanceof ParleyError && err.code === 'INVALID_PAYLOAD',
    );
    assert.equal(a.state, 'disconnected');
    await a.connect(server.app.url, { room: 'sdk-errors', name: 'A' });
    await assert.rejects(
      a.connect(server.app.url, { room: 'sdk-errors', name: 'A' }),
      (err: unknown) => err instanceof ClientError && err.reason === 'invalid-state',
    );
    const before = created.filter((pc) => !pc.closed).length;
    a.close();
    a.close();
    assert.equal(a.state, 'closed');
    assert.equal(created.filter((pc) => !pc.closed).length, before, 'no peer connection left open by this room');
    await assert.rejects(a.sendChat('x'), (err: unknown) => err instanceof ClientError);
  });
});
