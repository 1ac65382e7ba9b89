/**
 * Headless participants against a real server (Socket.IO on port 0, node-datachannel media):
 * mesh calls between bots, SFU rooms, the switch between them and back, chat, and the refusals a
 * bot must report (a full room, a missing token). Every wait has a deadline; no browser.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley-rtc/protocol';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { sfuRoomsOf } from '@parley-rtc/test-support/sfuInternals';
import { Bot, prepareAudioClip, prepareVideoClip, type BotOptions, type EncodedClip } from '../src/index.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

let video: EncodedClip;
let audio: EncodedClip;
const bots: Bot[] = [];

before(async () => {
  video = await prepareVideoClip({ source: 'testsrc', width: 160, height: 120, fps: 15, bitrateKbps: 150, gop: 15, seconds: 4 });
  audio = await prepareAudioClip({ source: 'tone', seconds: 2 });
});
after(() => {
  for (const b of bots) b.close('test over');
  releaseNativeWebRtc();
});

function bot(server: TestServer, room: string, name: string, extra: Partial<BotOptions> = {}): Bot {
  const b = new Bot({ url: server.app.url, room, name, video, audio, bindAddress: '127.0.0.1', ...extra });
  bots.push(b);
  return b;
}

/** Frames `from` has delivered to `to` (video), by member name. */
function framesFrom(to: Bot, from: Bot): number {
  return to.stats().received.find((r) => r.peerId === from.self?.id)?.video.frames ?? 0;
}

/** Waits until every bot has received `growth` more video frames from every other one. */
async function everyoneReceives(group: Bot[], growth: number, timeoutMs: number): Promise<void> {
  const base = new Map(
    group.flatMap((to) => group.filter((f) => f !== to).map((f) => [`${to.options.name}<${f.options.name}`, framesFrom(to, f)])),
  );
  const pending = () =>
    group.flatMap((to) =>
      group
        .filter((f) => f !== to && framesFrom(to, f) < base.get(`${to.options.name}<${f.options.name}`)! + growth)
        .map((f) => `${to.options.name}<${f.options.name}`),
    );
  await waitFor(() => pending().length === 0, timeoutMs, `video frames flowing (still waiting: ${pending().join(', ')})`).catch(
    (err: unknown) => {
      throw new Error(`${(err as Error).message}; stats: ${JSON.stringify(group.map((b) => b.stats()))}`);
    },
  );
}

describe('bots in a mesh room', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  });
  after(() => server?.close());

  test('two bots call each other peer to peer: video frames, key frames and audio arrive, chat goes both ways', async () => {
    const a = bot(server, 'duo', 'a');
    const b = bot(server, 'duo', 'b');
    await a.join();
    await b.join();
    assert.equal(a.mode, 'mesh');
    await everyoneReceives([a, b], 30, 20_000);
    const got = b.stats().received.find((r) => r.peerId === a.self?.id);
    assert.ok(got, 'b receives from a');
    assert.ok(got.video.keyFrames >= 1, `key frames counted: ${JSON.stringify(got.video)}`);
    await waitFor(() => (b.stats().received.find((r) => r.peerId === a.self?.id)?.audio.packets ?? 0) > 20, 10_000, 'audio from a');
    assert.ok(got.video.firstFrameMs !== undefined && got.video.firstFrameMs > 0);

    const heard = new Promise<string>((resolve) => b.on('chat', (e) => resolve(e.text)));
    await a.sendChat('hello from a');
    assert.equal(await heard, 'hello from a');

    const left = new Promise<string>((resolve) => a.on('peerLeft', (p) => resolve(p.name)));
    await b.leave();
    assert.equal(await left, 'b');
    assert.equal(b.state, 'closed');
    assert.equal(b.closeReason, 'left');
    await a.leave();
  });

  test('a dropped signaling connection resumes: same member id, nobody sees it leave, media keeps flowing, missed chat is counted', async () => {
    const a = bot(server, 'resume', 'a');
    const b = bot(server, 'resume', 'b');
    await a.join();
    await b.join();
    await everyoneReceives([a, b], 15, 20_000);
    const id = a.self!.id;
    const leftAtB: string[] = [];
    b.on('peerLeft', (p) => leftAtB.push(p.id));
    const socketId = server.app.signaling.registry.roomOf(id)?.members.get(id)?.socketId;
    assert.ok(socketId, 'a has a socket');
    server.app.io.sockets.sockets.get(socketId)?.conn.close();
    await waitFor(() => a.state === 'reconnecting', 10_000, 'a notices the drop');
    await b.sendChat('while a was away');
    await waitFor(() => a.state === 'joined', 15_000, 'a resumes');
    assert.equal(a.self?.id, id, 'same member id');
    assert.deepEqual(leftAtB, [], 'b never saw a leave');
    assert.equal(a.stats().chat.received, 1, 'the chat sent while away was replayed');
    await everyoneReceives([a, b], 15, 20_000);
    await a.leave();
    await b.leave();
  });

  test("a full room comes back as the server's error code ROOM_FULL", async () => {
    const limited = await startServer({ media: { bindAddress: '127.0.0.1' }, limits: { maxPeersPerRoom: 1 } });
    try {
      const first = bot(limited, 'tiny', 'first');
      await first.join();
      const second = bot(limited, 'tiny', 'second');
      await assert.rejects(second.join(), (err: unknown) => err instanceof ParleyError && err.code === 'ROOM_FULL');
      assert.equal(second.state, 'closed');
      assert.match(second.closeReason ?? '', /join failed/);
      await first.leave();
    } finally {
      await limited.close();
    }
  });
});

describe('bots in SFU rooms', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 2 } });
  });
  after(() => server?.close());

  test('a third member switches the room to the SFU; everyone receives everyone; the room goes back to mesh when it leaves', async () => {
    const a = bot(server, 'switch', 'a');
    const b = bot(server, 'switch', 'b');
    await a.join();
    await b.join();
    await everyoneReceives([a, b], 20, 20_000);
    assert.equal(a.mode, 'mesh');

    const c = bot(server, 'switch', 'c');
    await c.join();
    await waitFor(() => [a, b, c].every((x) => x.mode === 'sfu'), 10_000, 'SFU mode everywhere');
    await everyoneReceives([a, b, c], 30, 30_000);

    await c.leave();
    await waitFor(() => a.mode === 'mesh' && b.mode === 'mesh', 10_000, 'mesh mode again');
    await everyoneReceives([a, b], 30, 30_000);
    // Once the links carry the media again, the bots close their SFU connections on the server too.
    const sfuConnections = () => sfuRoomsOf(server.app)?.router('switch')?.stats().connections ?? 0;
    await waitFor(() => sfuConnections() === 0, 20_000, `the bots' SFU connections closed (still ${sfuConnections()})`);
    await a.leave();
    await b.leave();
  });

  test('a subscriber without media receives the publishers through the SFU', async () => {
    const pubs = [bot(server, 'listen', 'p1'), bot(server, 'listen', 'p2')];
    for (const p of pubs) await p.join();
    const listener = bot(server, 'listen', 'ear', { video: undefined, audio: undefined });
    await listener.join();
    await waitFor(() => listener.mode === 'sfu', 10_000, 'SFU mode');
    await waitFor(() => pubs.every((p) => framesFrom(listener, p) >= 30), 30_000, 'the listener receives both publishers');
    assert.deepEqual(listener.stats().sent, {});
    for (const b of [...pubs, listener]) await b.leave();
  });
});
