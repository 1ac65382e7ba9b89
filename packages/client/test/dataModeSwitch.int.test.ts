import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { Room, type DataMessage } from '../src/index.ts';

/**
 * A stream of reliable app data while the room switches mesh → SFU (a third member joins, over
 * the mesh limit of 2) and back (it leaves): every message arrives, none twice.
 */
describe('Room app data across the mesh ↔ SFU switch', () => {
  let server: TestServer;
  const rooms: Room[] = [];
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 2 } });
  });
  after(async () => {
    for (const r of rooms) r.close();
    await server.close();
    releaseNativeWebRtc();
  });

  async function member(name: string) {
    const r = new Room({ createPeerConnection: createNodePeerConnection, ackTimeoutMs: 5000, handoverTimeoutMs: 2000 });
    rooms.push(r);
    const received: DataMessage[] = [];
    r.on('data', (m) => received.push(m));
    const self = await r.connect(server.app.url, { room: 'switch', name });
    return { room: r, id: self.id, received };
  }

  it('delivers every reliable message exactly once while the room switches both ways', async () => {
    const a = await member('A');
    const b = await member('B');
    await waitFor(() => a.room.dataPathOpen(b.id) && b.room.dataPathOpen(a.id), 15_000, 'the mesh data path');
    let sent = 0;
    let sending = true;
    const stream = (async () => {
      while (sending) {
        await a.room.sendData(`m${sent}`, { to: [b.id] });
        sent++;
        // Some pace, so the stream spans the whole switch (the condition below ends it).
        if (sent % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
        if (sent % 200 === 0)
          await waitFor(
            () => b.received.length >= sent - 400,
            10_000,
            'B keeping up',
            () =>
              `sent ${sent}, received ${b.received.length}, modes ${a.room.mode}/${b.room.mode}, mesh ${a.room.peerConnection(b.id)?.connectionState}, path ${a.room.dataPathOpen(b.id)}/${b.room.dataPathOpen(a.id)}`,
          );
      }
    })();
    const modes: string[] = [];
    b.room.on('mode', (m) => modes.push(m));
    await waitFor(() => sent >= 300, 10_000);
    const c = await member('C');
    await waitFor(() => a.room.mode === 'sfu' && b.room.mode === 'sfu', 10_000, 'the switch to SFU');
    // The mesh links close at the handover deadline; keep streaming through it.
    await waitFor(() => a.room.peerConnection(b.id) === undefined && a.room.dataPathOpen(b.id), 15_000, 'SFU-only data path');
    const inSfu = sent;
    await waitFor(() => sent >= inSfu + 300, 10_000);
    await c.room.leave();
    await waitFor(() => a.room.mode === 'mesh' && b.room.mode === 'mesh', 10_000, 'the switch back to mesh');
    await waitFor(() => a.room.peerConnection(b.id)?.connectionState === 'connected', 15_000, 'the new mesh link');
    const inMesh = sent;
    await waitFor(() => sent >= inMesh + 300, 10_000);
    sending = false;
    await stream;
    await waitFor(
      () => b.received.length >= sent,
      15_000,
      'every message',
      () => `${b.received.length}/${sent}`,
    );
    const payloads = b.received.map((m) => m.payload);
    assert.equal(new Set(payloads).size, payloads.length, 'no duplicates');
    assert.equal(payloads.length, sent, 'no losses');
    assert.deepEqual([...payloads].sort(), Array.from({ length: sent }, (_, i) => `m${i}`).sort());
    assert.deepEqual(modes, ['sfu', 'mesh']);
  });
});
