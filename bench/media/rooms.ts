// Time to first frame out of a room (bench/media.ts prints these rows next to aiortc's /offer):
// a Parley server with one aiortc WHIP publisher in room `bench` (Debian's python3-aiortc, driven
// by packages/server/test/media/aiortcClient.ts: VP8 320x240 at 15 fps plus an Opus tone; aiortc's
// encoder makes a key frame only when asked, a PLI forces the next frame to be one), and
// Chromium viewers, one new viewer per run after the previous one left:
//   - WHEP of the member (`POST /whep/rooms/bench/:member`) and of the room's active speaker
//     (`POST /whep/rooms/bench`), measured like stream WHEP (bench/media/firstFrame.ts);
//   - an SFU subscription through signaling: a page loads the SDK bundle the server serves
//     (`/sdk/parley-client.js`), joins the room with `Room.connect()` (publishing nothing) and
//     receives the publisher's video. `offer` there is when the subscribing connection's offer is
//     ready (its candidates gathered; the `sfu_subscribe` request goes out then), `answer` when the
//     SDK applies the answer; the SDK's own 150 ms batching of new producers comes before `offer`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@parley-rtc/test-support/browser';
import { connectSocket, request } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { spawnServer } from '../../packages/server/test/serverProcess.ts';
import { AiortcClient, aiortcMissing } from '../../packages/server/test/media/aiortcClient.ts';
import { timeToFirstFrame, viewerPage, type BrowserMarks } from './firstFrame.ts';

export { aiortcMissing as roomPublisherMissing };

const ROOM = 'bench';

/** Each row's browser marks and the server's subscription timelines (debug `subscription setup`). */
export type RoomRows = Map<string, { marks: BrowserMarks[]; setups: Array<Record<string, number>> }>;

/** Runs the room rows against a fresh server with one aiortc WHIP publisher; `setups` gets the server's setup timelines. */
export async function roomTimeToFirstFrame(runs: number, log: (line: string) => void): Promise<RoomRows> {
  const rows: RoomRows = new Map();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-rooms-'));
  const server = await spawnServer(dataDir, { logLevel: 'debug', media: { bindAddress: '127.0.0.1', maxPeersPerClient: 1000 } });
  const setups: Array<Record<string, number>> = [];
  let buffered = '';
  server.child.stdout?.on('data', (d: Buffer) => {
    const lines = (buffered + d.toString()).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"subscription setup"')) continue;
      try {
        const entry = JSON.parse(line) as { setup: Record<string, number>; replayed: boolean };
        setups.push({ ...entry.setup, replayed: entry.replayed ? 1 : 0 });
      } catch {
        // not JSON
      }
    }
  });
  const measure = async (name: string, run: () => Promise<BrowserMarks[]>) => {
    const from = setups.length;
    rows.set(name, { marks: await run(), setups: setups.slice(from) });
  };
  const publisher = new AiortcClient('whip', `${server.url}/whip/rooms/${ROOM}?name=cam`, ['--amplitude', '20000']);
  try {
    const answered = await publisher.waitAnswered();
    if (answered.status !== 201) throw new Error(`the WHIP publisher was refused: ${answered.status} ${answered.body ?? ''}`);
    await publisher.waitStats('the WHIP publisher connected', (s) => s.state === 'connected');
    const member = await publisherId(server.url);
    await measure('room member WHEP', () => timeToFirstFrame(server.url, runs, 'whep', `/whep/rooms/${ROOM}/${member}`));
    await measure('room speaker WHEP', () => timeToFirstFrame(server.url, runs, 'whep', `/whep/rooms/${ROOM}`));
    await measure('room SFU subscribe (SDK)', () => sdkFirstFrame(server.url, runs));
    for (const [name, row] of rows) {
      log(
        `${name}: the first video packet was the producer's cached key frame in ${row.setups.filter((s) => s['replayed']).length}/${row.setups.length} runs`,
      );
    }
  } finally {
    await publisher.close();
    server.child.kill('SIGTERM');
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

/** The WHIP publisher's member id, once its video and audio are published (a probe member joins and leaves). */
async function publisherId(url: string): Promise<string> {
  const socket = await connectSocket(url);
  try {
    const producers: Array<{ peer: string; kind: string }> = [];
    socket.on('sfu_producer', (p: { peer: string; kind: string }) => producers.push(p));
    const ack = await request<{ peers: Array<{ id: string; name: string }> }>(socket, 'join', { room: ROOM, name: 'probe' });
    if (!ack.ok) throw new Error(`probe join failed: ${ack.error.code}`);
    const cam = ack.data.peers.find((p) => p.name === 'cam');
    if (!cam) throw new Error('the WHIP publisher is not in the room');
    await waitFor(() => producers.filter((p) => p.peer === cam.id).length >= 2, 15_000, 'the publisher’s video and audio');
    return cam.id;
  } finally {
    socket.disconnect();
  }
}

/** SFU subscriptions through the SDK: marks from `Room.connect()`. */
async function sdkFirstFrame(origin: string, runs: number): Promise<BrowserMarks[]> {
  const browser = await launchChromium();
  const out: BrowserMarks[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const { context, page } = await viewerPage(browser, origin);
      const marks = await page.evaluate(
        async ({ origin, room, slowAfterMs }) => {
          type Marks = { offer: number; answer: number; iceConnected: number; connected: number; firstFrame: number };
          const none = (): Marks => ({ offer: NaN, answer: NaN, iceConnected: NaN, connected: NaN, firstFrame: NaN });
          let t0 = 0;
          const now = () => performance.now() - t0;
          const Base = RTCPeerConnection;
          // every connection's marks (the SDK also opens a publishing one); the subscriber's are kept
          const marksOf = new Map<RTCPeerConnection, Marks>();
          globalThis.RTCPeerConnection = class extends Base {
            constructor(config?: RTCConfiguration) {
              super(config);
              const m = none();
              marksOf.set(this, m);
              this.addEventListener('icegatheringstatechange', () => {
                if (this.iceGatheringState === 'complete' && Number.isNaN(m.offer)) m.offer = now();
              });
              this.addEventListener('iceconnectionstatechange', () => {
                if (this.iceConnectionState === 'connected' && Number.isNaN(m.iceConnected)) m.iceConnected = now();
              });
              this.addEventListener('connectionstatechange', () => {
                if (this.connectionState === 'connected' && Number.isNaN(m.connected)) m.connected = now();
              });
            }
            override async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
              const m = marksOf.get(this);
              if (m && Number.isNaN(m.answer)) m.answer = now();
              return super.setRemoteDescription(d);
            }
          };
          const sdkUrl = `${origin}/sdk/parley-client.js`;
          type Track = { track: MediaStreamTrack };
          type SdkRoom = { on(e: 'track', f: (t: Track) => void): void; connect(u: string, o: object): Promise<unknown>; close(): void };
          const sdk = (await import(sdkUrl)) as { Room: new (o: object) => SdkRoom };
          type Reader = { read(): Promise<{ value?: { close(): void } }>; cancel(): Promise<void> };
          type Processor = new (init: { track: MediaStreamTrack }) => { readable: { getReader(): Reader } };
          const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: Processor }).MediaStreamTrackProcessor;
          const r = new sdk.Room({});
          let video: MediaStreamTrack | undefined;
          const frame = new Promise<number>((resolve) => {
            r.on('track', ({ track }) => {
              if (track.kind !== 'video' || video) return;
              video = track;
              const reader = new Processor({ track }).readable.getReader();
              void reader.read().then(({ value }) => {
                resolve(now());
                value?.close();
                void reader.cancel();
              });
            });
          });
          t0 = performance.now();
          await r.connect(origin, { room, name: 'viewer' });
          const firstFrame = await Promise.race([frame, new Promise<number>((resolve) => setTimeout(() => resolve(NaN), 15_000))]);
          const pc = [...marksOf.keys()].find((c) => c.getReceivers().some((x) => x.track === video));
          const m: Marks & Record<string, unknown> = { ...(pc ? marksOf.get(pc)! : none()), firstFrame };
          if (pc && slowAfterMs > 0 && m.firstFrame - m.connected > slowAfterMs) {
            // a slow run: what the receiver saw (debug output)
            (await pc.getStats()).forEach((s: Record<string, unknown>) => {
              if (s['type'] !== 'inbound-rtp' || s['kind'] !== 'video') return;
              const keys = ['packetsReceived', 'nackCount', 'pliCount', 'framesReceived', 'framesDropped', 'keyFramesDecoded'];
              m['receiver'] = keys.map((k) => `${k}=${String(s[k])}`).join(' ');
            });
          }
          r.close();
          return m;
        },
        { origin, room: ROOM, slowAfterMs: process.env['TTFF_DEBUG'] ? 100 : 0 },
      );
      out.push(marks);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}
