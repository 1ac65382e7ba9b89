/**
 * Chat on the data path with the room log still complete (ChatChannel): SDK Rooms in Node with
 * real node-datachannel connections and a real server. Chat goes over the data channel when it
 * is open and to the log always; receivers show each message once (data copy, then log copy
 * with its seq); with no data path it goes through signaling alone; a late joiner's log has every
 * message once, in order, under the seqs the senders were given.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHAT_DATA_TOPIC, type AppendResult, type ChatEntry } from '@parley-rtc/protocol';
import { InertPeerConnection } from '@parley-rtc/test-support/inertPeerConnection';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { waitFor } from '@parley-rtc/test-support/poll';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { ChatChannel, Room } from '../src/index.ts';

interface Member {
  room: Room;
  chat: ChatChannel;
  /** Chat copies that came over the data channel (topic parley.chat). */
  dataCopies: number;
  /** Broken invariants: a message visible twice (pending and logged) at some moment. */
  shownTwice: string[];
}

/** What the member's chat shows now: log entries then pending copies, as the web app renders them. */
function visible(m: Member): string[] {
  const logged = m.room.log.entries.filter((e): e is ChatEntry => e.kind === 'chat').map((e) => e.text);
  return [...logged, ...m.chat.pending.map((p) => p.text)];
}

function chats(m: Member): ChatEntry[] {
  return m.room.log.entries.filter((e): e is ChatEntry => e.kind === 'chat');
}

// Last, once every suite closed its peers: release libdatachannel.
after(() => releaseNativeWebRtc());

for (const mode of ['mesh', 'sfu'] as const) {
  describe(`chat over the data channel (${mode}), with the room log complete`, () => {
    let server: TestServer;
    const members: Member[] = [];

    before(async () => {
      // sfuMeshMaxPeers 0: the room is in SFU mode from its first member, and data goes through the SFU.
      server = await startServer(mode === 'sfu' ? { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 0 } } : {});
    });
    after(async () => {
      for (const m of members) {
        m.chat.close();
        m.room.close();
      }
      await server.close();
    });

    async function member(roomName: string, name: string, options: { inert?: boolean } = {}): Promise<Member> {
      const room = new Room({
        createPeerConnection: options.inert ? () => new InertPeerConnection() as unknown as RTCPeerConnection : createNodePeerConnection,
        ackTimeoutMs: 5000,
      });
      const m: Member = { room, chat: new ChatChannel(room), dataCopies: 0, shownTwice: [] };
      room.on('data', (d) => {
        if (d.topic === CHAT_DATA_TOPIC) m.dataCopies++;
      });
      const check = () => {
        const logged = new Set(chats(m).map((e) => `${e.from.id} ${e.id}`));
        for (const p of m.chat.pending) if (logged.has(`${p.from.id} ${p.id}`)) m.shownTwice.push(p.text);
      };
      m.chat.on('pending', check);
      room.on('chat', () => queueMicrotask(check));
      members.push(m);
      await room.connect(server.app.url, { room: roomName, name });
      return m;
    }

    async function pathsOpen(...ms: Member[]): Promise<void> {
      await waitFor(
        () => ms.every((m) => m.room.peers.length === ms.length - 1 && m.room.mode === mode && m.room.dataPathOpen()),
        20_000,
        'open data paths',
      );
    }

    it('goes over the data channel, shows once with its seq, and a late joiner reads it from the log', async () => {
      const alice = await member('chat-mesh', 'Alice');
      const bob = await member('chat-mesh', 'Bob');
      await pathsOpen(alice, bob);

      const texts = Array.from({ length: 40 }, (_, i) => `message ${i}`);
      const acks: AppendResult[] = [];
      for (const [i, text] of texts.entries()) acks.push(await (i % 2 ? bob : alice).chat.send(text));

      for (const m of [alice, bob]) {
        await waitFor(() => chats(m).length === texts.length && m.chat.pending.length === 0, 10_000, 'every log copy');
        assert.deepEqual(visible(m), texts, 'each message shows once, in log order');
        assert.deepEqual(m.shownTwice, [], 'no message was ever shown twice');
        assert.equal(new Set(chats(m).map((e) => e.id)).size, texts.length, 'every log entry carries its own id');
      }
      // Each side sent half over the data channel, and received the other half that way.
      assert.equal(alice.chat.stats.sentOverData, 20);
      assert.equal(bob.chat.stats.sentOverData, 20);
      // A data copy may arrive after its log copy on a busy machine: wait for all of them.
      await waitFor(
        () => alice.dataCopies === 20 && bob.dataCopies === 20,
        10_000,
        'every data copy',
        () => JSON.stringify({ alice: alice.dataCopies, bob: bob.dataCopies }),
      );
      for (const m of [alice, bob]) {
        const { receivedOverData, duplicates, invalid } = m.chat.stats;
        assert.equal(receivedOverData + duplicates, 20, 'every data copy was shown or matched to its log copy');
        assert.equal(invalid, 0);
      }
      // Most copies beat the log on loopback; at least one did, and was marked so.
      assert.ok(bob.chat.stats.receivedOverData > 0);
      assert.ok(chats(bob).some((e) => bob.chat.arrivedOverData(e)));

      const late = await member('chat-mesh', 'Late');
      const history = chats(late);
      assert.deepEqual(
        history.map((e) => e.text),
        texts,
      );
      assert.deepEqual(
        history.map((e) => e.seq),
        acks.map((a) => a.seq),
      );
      assert.deepEqual(late.chat.pending, []);
    });

    it(
      'falls back to signaling when no data path is open, and the other side still gets it once',
      { skip: mode === 'sfu' && 'covered in mesh mode' },
      async () => {
        const alice = await member('chat-fallback', 'Alice', { inert: true });
        const bob = await member('chat-fallback', 'Bob', { inert: true });
        await waitFor(() => alice.room.peers.length === 1 && bob.room.peers.length === 1, 10_000, 'both in the room');
        assert.equal(alice.room.dataPathOpen(bob.room.self!.id), false);

        const ack = await alice.chat.send('no data path here');
        await waitFor(() => chats(bob).length === 1, 10_000, 'the log copy at Bob');
        assert.equal(chats(bob)[0]!.seq, ack.seq);
        assert.deepEqual(visible(bob), ['no data path here']);
        assert.deepEqual(alice.chat.stats, { sentOverData: 0, sentOverSignaling: 1, receivedOverData: 0, duplicates: 0, invalid: 0 });
        assert.equal(bob.dataCopies, 0);
        await waitFor(() => alice.chat.pending.length === 0, 10_000, 'our own pending copy replaced by the log copy');
        assert.deepEqual(visible(alice), ['no data path here']);
      },
    );

    it('a data copy that claims another sender cannot hide or fake that sender’s message', async () => {
      const alice = await member('chat-spoof', 'Alice');
      const bob = await member('chat-spoof', 'Bob');
      const carol = await member('chat-spoof', 'Carol');
      await pathsOpen(alice, bob, carol);
      // Carol sends a data copy reusing the id of Alice's next message: `from` is Carol's, set by the path.
      await alice.chat.send('from Alice');
      await waitFor(() => chats(alice).length === 1, 10_000, 'the log copy at Alice');
      const aliceId = chats(alice)[0]!.id;
      assert.ok(aliceId);
      await carol.room.sendData(JSON.stringify({ type: 'chat', id: aliceId, text: 'fake' }), { topic: CHAT_DATA_TOPIC });
      await waitFor(() => bob.chat.pending.some((p) => p.text === 'fake') || bob.chat.stats.receivedOverData >= 2, 10_000, 'the fake copy');
      const fake = bob.chat.pending.find((p) => p.text === 'fake');
      assert.equal(fake?.from.id, carol.room.self!.id, 'attributed to Carol, who sent it');
      await waitFor(() => chats(bob).length === 1, 10_000, 'the log copy at Bob');
      assert.equal(chats(bob)[0]!.text, 'from Alice');
    });
  });
}
