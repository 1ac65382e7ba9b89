import { after, before, describe, it } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { DATA_CHANNELS, decodeDataEnvelope, encodeDataEnvelope, LIMITS, parseDataErrorReport } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { data, request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { sfuDataOf } from '@parley-rtc/test-support/sfuInternals';
import { ParleyError, Room, type DataMessage } from '../src/index.ts';

/**
 * `room.sendData` in SFU rooms (the room is in SFU mode from the first member): SDK Rooms in Node
 * over node-datachannel, a real server whose SFU forwards, and raw node-datachannel members that
 * speak the envelope themselves (to lie about `from`, or to stop reading).
 */
const API_KEY = 'backend';
const API_SECRET = 'data-sfu-secret-0123456789';

describe('Room app data through the SFU', () => {
  let server: TestServer;
  let api: ServerClient;
  const rooms: Room[] = [];
  const peers: MediaPeer[] = [];
  const children: ChildProcess[] = [];
  let identities = 0;
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 0 } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(async () => {
    for (const r of rooms) r.close();
    for (const p of peers) p.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await server.close();
    releaseNativeWebRtc();
  });

  const token = async (room: string, grants: { data?: boolean } = {}) =>
    (await api.mintToken({ room, identity: `u${++identities}`, name: 'N', grants })).token;

  async function member(room: string, grants: { data?: boolean } = {}) {
    const r = new Room({ createPeerConnection: createNodePeerConnection, ackTimeoutMs: 5000 });
    rooms.push(r);
    const received: DataMessage[] = [];
    const errors: Error[] = [];
    r.on('data', (m) => received.push(m));
    r.on('error', (e) => errors.push(e));
    const self = await r.connect(server.app.url, { room, name: 'N', token: await token(room, grants) });
    await waitFor(() => r.mode === 'sfu' && r.dataPathOpen(), 15_000, 'the SFU data path');
    return { room: r, id: self.id, received, errors };
  }

  /** A member that speaks the data channels itself: `read: false` never takes a message off its channels. */
  async function rawMember(room: string, read = true, grants: { data?: boolean } = {}) {
    const socket = await server.connect();
    const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name: 'Raw', token: await token(room, grants) }));
    const peer = new MediaPeer(`raw-${joined.self.id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    peers.push(peer);
    const reliable = peer.createDataChannel(DATA_CHANNELS.reliable.label, { negotiated: true, id: DATA_CHANNELS.reliable.id });
    const lossy = peer.createDataChannel(DATA_CHANNELS.lossy.label, {
      negotiated: true,
      id: DATA_CHANNELS.lossy.id,
      unordered: true,
      maxRetransmits: 0,
    });
    const received: string[] = [];
    if (read) reliable.onMessage((m) => received.push(String(decodeDataEnvelope(new Uint8Array(m as Buffer), true)?.payload)));
    const res = data(await request<{ answer: string }>(socket, 'sfu_data', { sdp: await peer.createOffer() }));
    peer.setAnswer(res.answer);
    await new Promise<void>((resolve) => (reliable.isOpen() ? resolve() : reliable.onOpen(resolve)));
    return { id: joined.self.id, reliable, lossy, received };
  }

  const dropped = (reason: string) => server.app.metrics.value('parley_sfu_data_dropped_total', { reason });

  it('forwards reliable messages complete and in order to the addressed members only; lossy ones arrive', async () => {
    const a = await member('ds-order');
    const b = await member('ds-order');
    const c = await member('ds-order');
    for (let i = 0; i < 300; i++) await a.room.sendData(`to-b ${i}`, { to: [b.id], topic: 'seq' });
    for (let i = 0; i < 200; i++) await a.room.sendData(`lossy ${i}`, { reliable: false });
    await a.room.sendData('end');
    await waitFor(() => b.received.filter((m) => m.reliable).length === 301 && c.received.some((m) => m.payload === 'end'), 10_000);
    const reliable = b.received.filter((m) => m.reliable);
    assert.deepEqual(
      reliable.map((m) => m.payload),
      [...Array.from({ length: 300 }, (_, i) => `to-b ${i}`), 'end'],
    );
    assert.deepEqual(reliable[0], { from: a.id, topic: 'seq', payload: 'to-b 0', reliable: true });
    assert.deepEqual(
      c.received.filter((m) => m.reliable).map((m) => m.payload),
      ['end'],
    );
    // Lossy data on loopback: most of it (the reliable 'end' came after every lossy message was sent).
    await waitFor(() => b.received.filter((m) => !m.reliable).length >= 100, 5000, 'lossy messages');
  });

  it('writes `from` itself: a member cannot pose as another', async () => {
    const b = await member('ds-spoof');
    const liar = await rawMember('ds-spoof');
    const envelope = { reliable: true, control: false, epoch: 7, seq: 0, topic: 'x', from: b.id, to: [b.id], payload: 'I am B' };
    liar.reliable.sendMessageBinary(Buffer.from(encodeDataEnvelope({ ...envelope, from: 'someone-else' })));
    liar.reliable.sendMessageBinary(Buffer.from(encodeDataEnvelope({ ...envelope, seq: 1, from: b.id })));
    await waitFor(() => b.received.length === 2);
    assert.deepEqual(
      b.received.map((m) => m.from),
      [liar.id, liar.id],
    );
  });

  it('refuses oversize payloads, sending without the data grant and over the rate, with typed errors', async () => {
    const a = await member('ds-refuse');
    const b = await member('ds-refuse', { data: false });
    const raw = await rawMember('ds-refuse');
    const isCode = (code: string) => (err: unknown) => err instanceof ParleyError && err.code === code;
    await assert.rejects(a.room.sendData(new Uint8Array(LIMITS.dataReliableBytes + 1)), isCode('PAYLOAD_TOO_LARGE'));
    await assert.rejects(b.room.sendData('no grant'), isCode('FORBIDDEN'));
    // The server checks too, whatever the client does: an oversize envelope is refused and reported.
    const report = new Promise<string>((resolve) =>
      raw.reliable.onMessage((m) => resolve(String(decodeDataEnvelope(new Uint8Array(m as Buffer), true)?.payload))),
    );
    const big = encodeDataEnvelope({
      reliable: true,
      control: false,
      epoch: 1,
      seq: 5,
      topic: '',
      from: '',
      to: [],
      payload: 'x'.repeat(LIMITS.dataReliableBytes),
    });
    const oversize = new Uint8Array(big.byteLength + 1);
    oversize.set(big);
    raw.reliable.sendMessageBinary(Buffer.from(oversize));
    assert.equal(parseDataErrorReport(await report)?.code, 'INVALID_PAYLOAD');
    // Without the grant the server refuses too (a client that skips the SDK's check) and says why.
    const ungranted = await rawMember('ds-refuse', true, { data: false });
    const refusal = new Promise<string>((resolve) =>
      ungranted.reliable.onMessage((m) => resolve(String(decodeDataEnvelope(new Uint8Array(m as Buffer), true)?.payload))),
    );
    ungranted.reliable.sendMessageBinary(
      Buffer.from(encodeDataEnvelope({ reliable: true, control: false, epoch: 2, seq: 0, topic: '', from: '', to: [], payload: 'sneaky' })),
    );
    assert.equal(parseDataErrorReport(await refusal)?.code, 'FORBIDDEN');
    await a.room.sendData('granted');
    await waitFor(() => b.received.some((m) => m.payload === 'granted'));
    assert.equal(b.received.filter((m) => m.payload === 'sneaky').length, 0);
    // The rate: a burst over the member's allowance is refused with RATE_LIMITED, the rest forwarded.
    sfuDataOf(server.app)?.setLimits({ messagesPerSecond: 20 });
    const fast = await member('ds-refuse');
    for (let i = 0; i < 200; i++) await fast.room.sendData(`burst ${i}`, { to: [raw.id] });
    await waitFor(() => fast.errors.some((e) => e instanceof ParleyError && e.code === 'RATE_LIMITED'), 5000, 'RATE_LIMITED report');
    sfuDataOf(server.app)?.setLimits({ messagesPerSecond: 2000 });
  });

  it('a receiver that stops reading loses messages; the others get every one', async () => {
    sfuDataOf(server.app)?.setLimits({ messagesPerSecond: 1e6, bytesPerSecond: 1e10, slowReceiverBytes: 2 * 1024 * 1024 });
    const a = await member('ds-slow');
    const b = await member('ds-slow');
    // The stuck member runs in its own process, which the test stops (SIGSTOP) once it is connected.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('fixtures/dataMember.ts', import.meta.url)),
        server.app.url,
        'ds-slow',
        await token('ds-slow'),
      ],
      {
        env: { ...process.env, NODE_OPTIONS: '--conditions=@parley-rtc/source' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    assert.match(line, /^ready /);
    await waitFor(() => a.room.peers.length === 2);
    child.kill('SIGSTOP');
    const before = dropped('slow_receiver');
    const chunk = new Uint8Array(16 * 1024);
    const count = 800; // 12.5 MiB: far more than the buffers towards the stopped member hold
    for (let i = 0; i < count; i++) {
      new DataView(chunk.buffer).setUint32(0, i);
      await a.room.sendData(chunk, { topic: 'bulk' });
      // The sender follows the reading member's pace (at most 1 MiB ahead), as an app would.
      if (i % 16 === 15) await waitFor(() => b.received.length >= i - 64, 10_000, 'the reading member keeping up');
    }
    await waitFor(
      () => b.received.length === count,
      30_000,
      'every message at the reading member',
      () => `${b.received.length}/${count}`,
    );
    const order = b.received.map((m) => new DataView((m.payload as Uint8Array).buffer).getUint32(0));
    assert.deepEqual(
      order,
      Array.from({ length: count }, (_, i) => i),
    );
    assert.ok(dropped('slow_receiver') > before, 'the stopped member lost messages (counted)');
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
});
