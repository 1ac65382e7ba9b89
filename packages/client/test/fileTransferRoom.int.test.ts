/**
 * Direct file transfer over SDK Rooms (roomFileLink over the app data API) in a mesh room: SDK
 * Rooms in Node with real node-datachannel connections and a real server. The transfer protocol
 * itself is covered in fileTransfer.int.test.ts; this checks the Room adapter end to end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { FILE_TRANSFER_TOPIC } from '@parley-rtc/protocol';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { waitFor } from '@parley-rtc/test-support/poll';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { ClientError, FileTransfers, Room, roomFileLink, type IncomingTransfer } from '../src/index.ts';

describe('direct file transfer between SDK Rooms', () => {
  let server: TestServer;
  const rooms: Room[] = [];
  const transfers: FileTransfers[] = [];

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const t of transfers) t.close();
    for (const r of rooms) r.close();
    await server.close();
    releaseNativeWebRtc();
  });

  async function member(name: string) {
    const room = new Room({ createPeerConnection: createNodePeerConnection, ackTimeoutMs: 5000 });
    rooms.push(room);
    const files = new FileTransfers(roomFileLink(room));
    transfers.push(files);
    const self = await room.connect(server.app.url, { room: 'files-direct', name });
    return { room, files, id: self.id };
  }

  it('sends a file to one member over the data channel; the SHA-256 matches and others see nothing', async () => {
    const alice = await member('Alice');
    const bob = await member('Bob');
    const carol = await member('Carol');
    let carolSaw = 0;
    carol.room.on('data', (m) => {
      if (m.topic === FILE_TRANSFER_TOPIC) carolSaw++;
    });
    await waitFor(() => [alice, bob, carol].every((m) => m.room.peers.length === 2 && m.room.dataPathOpen()), 20_000, 'open data paths');
    assert.ok(alice.files.canSendTo(bob.id));

    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const offered = new Promise<IncomingTransfer>((resolve) => bob.files.once('offer', resolve));
    const out = alice.files.send(bob.id, new File([bytes], 'report.pdf', { type: 'application/pdf' }));
    const incoming = await offered;
    assert.equal(incoming.peer, alice.id);
    assert.equal(incoming.mime, 'application/pdf');
    const [blob] = await Promise.all([incoming.accept(), out.done]);
    const got = createHash('sha256')
      .update(new Uint8Array(await blob.arrayBuffer()))
      .digest('hex');
    assert.equal(got, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(carolSaw, 0, 'the transfer was addressed to Bob alone');
  });

  it('refuses at once to send to a member without an open data path', async () => {
    const alice = rooms[0]!;
    const files = transfers[0]!;
    assert.throws(
      () => files.send('_nobody', new File([new Uint8Array(10)], 'x.bin')),
      (err) => err instanceof ClientError && err.reason === 'disconnected',
    );
    assert.equal(alice.dataPathOpen('_nobody'), false);
  });
});
