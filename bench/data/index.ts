// App-data benchmark (`npm run bench -- data`): messages/s and one-way latency (p50/p99) between
// two members, for 100 B and 16 KiB payloads, reliable and lossy, over four paths measured in the
// same run: a mesh data channel (SDK Room to SDK Room, P2P), the SFU's forwarding (SDK Rooms
// through the server's DataForwarder), Socket.IO signaling (`room_event`, what apps used before
// data channels; stored in the room log, reliable only, 16,000-character bodies for "16 KiB"), and
// the anchor: bare node-datachannel to node-datachannel (no SDK, no server). The members and the
// anchor's two peers run in this Node process; the SFU server runs in its own process
// (./sfuServer.ts), and its CPU per forwarded message is read from its /metrics.
// `BENCH_DATA_CPU_PROF=<dir>` runs that server under `node --cpu-prof` (profile written at exit).
// Throughput: the sender sends as fast as `sendData` lets it (its backpressure), the receiver
// counts; latency: one message at a time, the next once the previous arrived (no queueing).
import nodeDataChannel from 'node-datachannel';
import { DATA_CHANNELS } from '@parley-rtc/protocol';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { createNodePeerConnection } from '@parley-rtc/test-support/nodePeerConnection';
import { Room } from '../../packages/client/src/index.ts';
import { spawnCommandReady } from '../lib/spawnReady.ts';

interface Pipe {
  name: string;
  lossy: boolean;
  /** Sends one message (`size` bytes, starting with the send time); resolves when it may send the next. */
  send(size: number, reliable: boolean): Promise<void>;
  /** Called with the send time of each message received. */
  onReceive(fn: (sentAt: number) => void): void;
  /** The forwarding server's CPU seconds so far (the SFU path only). */
  serverCpu?: () => Promise<number>;
  close(): void;
}

function payload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setFloat64(0, performance.now());
  return bytes;
}

const sentAtOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0);

async function roomPair(url: string, room: string): Promise<[Room, Room, string]> {
  const a = new Room({ createPeerConnection: createNodePeerConnection });
  const b = new Room({ createPeerConnection: createNodePeerConnection });
  await a.connect(url, { room, name: 'A' });
  const self = await b.connect(url, { room, name: 'B' });
  await waitFor(() => a.dataPathOpen(self.id) && b.dataPathOpen(), 20_000, `${room} data path`);
  return [a, b, self.id];
}

function roomPipe(name: string, a: Room, b: Room, to: string): Pipe {
  let receive: (t: number) => void = () => undefined;
  b.on('data', (m) => receive(sentAtOf(m.payload as Uint8Array)));
  return {
    name,
    lossy: true,
    send: (size, reliable) => a.sendData(payload(size), { reliable, to: [to] }),
    onReceive: (fn) => (receive = fn),
    close: () => [a, b].forEach((r) => r.close()),
  };
}

async function socketIoPipe(server: TestServer): Promise<Pipe> {
  const a = new Room({ createPeerConnection: createNodePeerConnection });
  const b = new Room({ createPeerConnection: createNodePeerConnection });
  await a.connect(server.app.url, { room: 'bench-sio', name: 'A' });
  await b.connect(server.app.url, { room: 'bench-sio', name: 'B' });
  let receive: (t: number) => void = () => undefined;
  b.on('entry', (e) => {
    if (e.kind === 'event' && typeof e.body === 'object' && e.body !== null && 't' in e.body) receive(Number(e.body.t));
  });
  const inFlight = new Set<Promise<unknown>>();
  return {
    name: 'Socket.IO room_event',
    lossy: false,
    async send(size) {
      // JSON body: the pad makes the event about `size` bytes (≤ 16,000 characters: the body limit).
      const p = a.sendEvent('bench', { t: performance.now(), pad: 'x'.repeat(Math.min(size, 16_000) - 40) });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 64) await Promise.race(inFlight);
    },
    onReceive: (fn) => (receive = fn),
    close: () => [a, b].forEach((r) => r.close()),
  };
}

async function barePipe(): Promise<Pipe> {
  const opts = { iceServers: [], bindAddress: '127.0.0.1' };
  const x = new MediaPeer('bench-bare-a', opts);
  const y = new MediaPeer('bench-bare-b', opts);
  const { reliable, lossy } = DATA_CHANNELS;
  const make = (p: MediaPeer) => ({
    r: p.createDataChannel(reliable.label, { negotiated: true, id: reliable.id }),
    l: p.createDataChannel(lossy.label, { negotiated: true, id: lossy.id, unordered: true, maxRetransmits: 0 }),
  });
  const ax = make(x);
  const offer = await x.createOffer();
  const answer = await y.answer(offer);
  const ay = make(y);
  x.setAnswer(answer);
  await new Promise<void>((resolve) => (ax.r.isOpen() ? resolve() : ax.r.onOpen(resolve)));
  let receive: (t: number) => void = () => undefined;
  for (const dc of [ay.r, ay.l]) dc.onMessage((m) => receive(sentAtOf(new Uint8Array(m as Buffer))));
  for (const dc of [ax.r, ax.l]) dc.setBufferedAmountLowThreshold(256 * 1024);
  return {
    name: 'bare node-datachannel (anchor)',
    lossy: true,
    async send(size, rel) {
      const dc = rel ? ax.r : ax.l;
      if (dc.bufferedAmount() > 1024 * 1024) await new Promise<void>((resolve) => dc.onBufferedAmountLow(resolve));
      dc.sendMessageBinary(payload(size));
    },
    onReceive: (fn) => (receive = fn),
    close: () => [x, y].forEach((p) => p.close()),
  };
}

/** A server's CPU seconds from its Prometheus /metrics (forwarded-message counts are flushed every 250 ms). */
async function scrapeCpu(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^parley_process_cpu_seconds_total(?:\{\})? ([\d.e+-]+)$/m.exec(text);
  if (!m) throw new Error('no parley_process_cpu_seconds_total in /metrics');
  return Number(m[1]);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function measure(pipe: Pipe, size: number, reliable: boolean): Promise<string> {
  // Throughput: a fixed amount of data (at least 2,000 messages), as fast as the pipe takes it.
  const count = Math.max(2000, Math.round((32 * 1024 * 1024) / size / 4));
  let got = 0;
  let last = 0;
  pipe.onReceive(() => {
    got++;
    last = performance.now();
  });
  const cpuBefore = await pipe.serverCpu?.();
  const start = performance.now();
  for (let i = 0; i < count; i++) await pipe.send(size, reliable);
  const sentIn = performance.now() - start;
  // Wait until everything arrived or nothing more arrives (the SFU drops for a slow receiver; lossy loses).
  for (let before = -1; got < count && got !== before; ) {
    before = got;
    await new Promise((resolve) => setTimeout(resolve, reliable ? 1000 : 300));
  }
  const rate = got / ((Math.max(last, start + sentIn) - start) / 1000);
  const cpuAfter = await pipe.serverCpu?.();
  const serverUs = cpuBefore !== undefined && cpuAfter !== undefined && got > 0 ? ((cpuAfter - cpuBefore) * 1e6) / got : undefined;
  // Latency: one at a time.
  const samples: number[] = [];
  let pending: ((t: number) => void) | undefined;
  pipe.onReceive((t) => pending?.(t));
  for (let i = 0; i < 300; i++) {
    // Only this message counts (lossy stragglers of the throughput phase may still arrive).
    const since = performance.now();
    const arrived = new Promise<number>((resolve) => (pending = (t) => t >= since && resolve(performance.now() - t)));
    await pipe.send(size, reliable);
    const ms = await Promise.race([arrived, new Promise<number>((resolve) => setTimeout(() => resolve(NaN), 1000))]);
    if (!Number.isNaN(ms)) samples.push(ms);
  }
  samples.sort((p, q) => p - q);
  const mbps = (rate * size) / 1e6;
  return `| ${pipe.name} | ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} | ${reliable ? 'reliable' : 'lossy'} | ${Math.round(rate).toLocaleString('en')} | ${mbps.toFixed(1)} | ${((100 * got) / count).toFixed(1)} % | ${percentile(samples, 50).toFixed(2)} | ${percentile(samples, 99).toFixed(2)} | ${serverUs === undefined ? '–' : serverUs.toFixed(1)} |`;
}

export async function benchData(): Promise<void> {
  console.log('\n## data: app data between two members (members in this process, the SFU server in its own)\n');
  console.log('| Path | Payload | Channel | msgs/s | MB/s | delivered | p50 ms | p99 ms | SFU server CPU µs/msg |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const server = await startServer({
    media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 2 },
    rateLimits: { eventsPerSec: 1_000_000, eventBurst: 1_000_000 },
  });
  const profDir = process.env.BENCH_DATA_CPU_PROF;
  const script = fileURLToPath(new URL('./sfuServer.ts', import.meta.url));
  const sfuServer = await spawnCommandReady(
    process.execPath,
    [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), '--import', 'tsx', script],
    'data SFU server',
  );
  const sfuUrl = `http://127.0.0.1:${sfuServer.port}`;
  try {
    const [ma, mb, mbId] = await roomPair(server.app.url, 'bench-mesh');
    const [sa, sb, sbId] = await roomPair(sfuUrl, 'bench-sfu');
    const sfuPipe = roomPipe('SFU forwarding', sa, sb, sbId);
    sfuPipe.serverCpu = () => scrapeCpu(sfuUrl);
    const pipes = [
      roomPipe('mesh (P2P)', ma, mb, mbId),
      sfuPipe,
      await socketIoPipe(server),
      await barePipe(),
    ];
    for (const size of [100, 16 * 1024]) {
      for (const pipe of pipes) {
        console.log(await measure(pipe, size, true));
        if (pipe.lossy && size <= 1200) console.log(await measure(pipe, size, false));
      }
    }
    for (const pipe of pipes) pipe.close();
  } finally {
    await server.close();
    await sfuServer.stop(15_000);
    nodeDataChannel.cleanup();
  }
}
