// SFU bench load process: one publisher sending pre-encoded 720p VP8 RTP (packetized once, only
// the 12-byte header is stamped per packet) and N light subscribers on the raw node-datachannel
// API that only count RTP packets and sequence gaps (no decoding, no RTCP sent). Controlled by the
// orchestrator (bench/sfu.ts) over HTTP on 127.0.0.1; prints `READY <port>`.
//   POST /setup {url, ivf, subs, concurrency} → {setupMs, retries, failed}
//   POST /window/start · POST /window/end → counts over the window
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { isVp8KeyFrame, packetizeVp8 } from '@parley-rtc/rtc/rtp/vp8';

const { PeerConnection: NativePc, Video } = nodeDataChannel;
const CONFIG = { iceServers: [], bindAddress: '127.0.0.1', enableIceTcp: false };

interface Frame {
  key: boolean;
  payloads: Buffer[];
}

function loadIvf(path: string): { fps: number; frames: Frame[] } {
  const buf = readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error(`${path}: not IVF`);
  const frames: Frame[] = [];
  for (let off = buf.readUInt16LE(6); off + 12 <= buf.length;) {
    const size = buf.readUInt32LE(off);
    const data = buf.subarray(off + 12, off + 12 + size);
    frames.push({ key: isVp8KeyFrame(data), payloads: packetizeVp8(data) });
    off += 12 + size;
  }
  return { fps: buf.readUInt32LE(16) / buf.readUInt32LE(20), frames };
}

function gathered(pc: PeerConnection, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (pc.gatheringState() === 'complete') resolve();
      else if (Date.now() > deadline) reject(new Error('ICE gathering timeout'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

function opened(track: Track, pc: PeerConnection, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (track.isOpen()) return resolve();
    const timer = setTimeout(() => reject(new Error(`track not open after ${timeoutMs} ms (pc ${pc.state()})`)), timeoutMs);
    pc.onStateChange((s) => {
      if (s === 'failed' || s === 'closed') {
        clearTimeout(timer);
        reject(new Error(`peer ${s}`));
      }
    });
    track.onOpen(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function post(url: string, data: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) });
  const parsed: unknown = await res.json();
  if (!res.ok || typeof parsed !== 'object' || parsed === null) throw new Error(`${url}: ${res.status} ${JSON.stringify(parsed)}`);
  return Object.fromEntries(Object.entries(parsed));
}

class Publisher {
  readonly pc: PeerConnection = new NativePc('bench-pub', CONFIG);
  readonly track: Track;
  readonly ssrc = 0x1234abcd;
  #seq = 0;
  #ts = 1000;
  #idx = 0;
  #timer: NodeJS.Timeout | undefined;
  sent = 0;
  readonly media: { fps: number; frames: Frame[] };

  constructor(media: { fps: number; frames: Frame[] }) {
    this.media = media;
    const v = new Video('0', 'SendOnly');
    v.addVP8Codec(96);
    v.addSSRC(this.ssrc, 'benchpub', 'benchstream', 'benchvideo');
    this.track = this.pc.addTrack(v);
    this.track.onMessage(() => {}); // RTCP (PLI, SR) ignored, like the anchor load generator
  }

  async connect(base: string): Promise<string> {
    this.pc.setLocalDescription();
    await gathered(this.pc);
    const r = await post(`${base}/publish`, { sdp: this.pc.localDescription()?.sdp });
    if (typeof r.sdp !== 'string' || typeof r.producerId !== 'string') throw new Error('bad publish reply');
    this.pc.setRemoteDescription(r.sdp, 'answer');
    await opened(this.track, this.pc);
    return r.producerId;
  }

  start(): void {
    const period = 1000 / this.media.fps;
    const t0 = performance.now();
    let k = 0;
    const tick = (): void => {
      while (t0 + k * period <= performance.now()) {
        this.#frame();
        k++;
      }
      this.#timer = setTimeout(tick, Math.max(0, t0 + k * period - performance.now()));
    };
    tick();
  }

  #frame(): void {
    const f = this.media.frames[this.#idx]!;
    const n = f.payloads.length;
    for (let i = 0; i < n; i++) {
      const payload = f.payloads[i]!;
      const pkt = Buffer.allocUnsafe(12 + payload.length);
      pkt[0] = 0x80;
      pkt[1] = (i === n - 1 ? 0x80 : 0) | 96;
      pkt.writeUInt16BE(this.#seq, 2);
      pkt.writeUInt32BE(this.#ts, 4);
      pkt.writeUInt32BE(this.ssrc, 8);
      payload.copy(pkt, 12);
      this.#seq = (this.#seq + 1) & 0xffff;
      try {
        if (this.track.sendMessageBinary(pkt)) this.sent++;
      } catch {
        // counted as not sent
      }
    }
    this.#ts = (this.#ts + Math.round(90000 / this.media.fps)) >>> 0;
    this.#idx = (this.#idx + 1) % this.media.frames.length;
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    try {
      this.pc.close();
    } catch {
      // closed
    }
  }
}

class Subscriber {
  readonly pc: PeerConnection;
  readonly track: Track;
  pkts = 0;
  minExt = Infinity;
  maxExt = -Infinity;
  #ext: number | undefined;

  constructor(name: string) {
    this.pc = new NativePc(name, CONFIG);
    const v = new Video('0', 'RecvOnly');
    v.addVP8Codec(96);
    this.track = this.pc.addTrack(v);
    this.track.onMessage((buf) => this.#onPacket(buf));
  }

  #onPacket(buf: Buffer): void {
    if (buf.length < 12) return;
    const b1 = buf[1]!;
    if (b1 >= 192 && b1 <= 223) return; // RTCP
    const seq = buf.readUInt16BE(2);
    const ext = this.#ext === undefined ? seq : this.#ext + ((((seq - (this.#ext & 0xffff)) & 0xffff) << 16) >> 16);
    if (this.#ext === undefined || ext > this.#ext) this.#ext = ext;
    this.pkts++;
    if (ext < this.minExt) this.minExt = ext;
    if (ext > this.maxExt) this.maxExt = ext;
  }

  resetWindow(): void {
    this.pkts = 0;
    this.minExt = Infinity;
    this.maxExt = -Infinity;
  }

  async connect(base: string, producerId: string): Promise<void> {
    this.pc.setLocalDescription();
    await gathered(this.pc);
    const r = await post(`${base}/subscribe`, { sdp: this.pc.localDescription()?.sdp, producerId });
    if (typeof r.sdp !== 'string') throw new Error('bad subscribe reply');
    this.pc.setRemoteDescription(r.sdp, 'answer');
    await opened(this.track, this.pc);
  }

  close(): void {
    try {
      this.pc.close();
    } catch {
      // closed
    }
  }
}

let pub: Publisher | undefined;
const subs: Subscriber[] = [];
let retries = 0;
let failed = 0;
let cpu0 = process.cpuUsage();
let t0 = performance.now();

async function connectWithRetry<T>(make: () => T & { close(): void }, connect: (x: T) => Promise<unknown>): Promise<T | undefined> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    const x = make();
    try {
      await connect(x);
      return x;
    } catch (err) {
      x.close();
      if (attempt === 2) {
        console.error(`setup failed twice: ${(err as Error).message}`);
        return undefined;
      }
      retries++; // libdatachannel loopback race: retry once
    }
  }
  return undefined;
}

async function setup(b: Record<string, unknown>): Promise<unknown> {
  const { url, ivf, subs: n, concurrency } = b;
  if (typeof url !== 'string' || typeof ivf !== 'string' || typeof n !== 'number' || typeof concurrency !== 'number')
    throw new Error('bad setup');
  const media = loadIvf(ivf);
  const start = performance.now();
  let producerId = '';
  pub = await connectWithRetry(
    () => new Publisher(media),
    async (p) => (producerId = await p.connect(url)),
  );
  if (!pub) throw new Error('publisher did not connect');
  pub.start();
  for (let i = 0; i < n; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - i) }, (_, k) =>
      connectWithRetry(
        () => new Subscriber(`sub-${i + k}`),
        (s) => s.connect(url, producerId),
      ),
    );
    for (const s of await Promise.all(batch)) {
      if (s) subs.push(s);
      else failed++;
    }
  }
  return {
    setupMs: performance.now() - start,
    retries,
    failed,
    pktsPerSec: media.frames.reduce((a, f) => a + f.payloads.length, 0) / (media.frames.length / media.fps),
  };
}

function windowEnd(): unknown {
  const cpu = process.cpuUsage(cpu0);
  const secs = (performance.now() - t0) / 1000;
  let pkts = 0;
  let lost = 0;
  let worst = 0;
  let silent = 0;
  for (const s of subs) {
    pkts += s.pkts;
    if (s.pkts === 0) {
      silent++;
      continue;
    }
    const expected = s.maxExt - s.minExt + 1;
    const l = Math.max(0, expected - s.pkts);
    lost += l;
    worst = Math.max(worst, l / expected);
  }
  return {
    secs,
    pkts,
    lost,
    worstLossPct: worst * 100,
    silent,
    subs: subs.length,
    loadCpuPct: ((cpu.user + cpu.system) / 1e6 / secs) * 100,
  };
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const c of req) text += String(c);
  const parsed: unknown = JSON.parse(text || '{}');
  return typeof parsed === 'object' && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {};
}

const control = createServer((req, res) => {
  void (async () => {
    try {
      let out: unknown = {};
      if (req.url === '/setup') out = await setup(await body(req));
      else if (req.url === '/window/start') {
        for (const s of subs) s.resetWindow();
        cpu0 = process.cpuUsage();
        t0 = performance.now();
      } else if (req.url === '/window/end') out = windowEnd();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    }
  })();
});
control.listen(0, '127.0.0.1', () => {
  const addr = control.address();
  console.log(`READY ${typeof addr === 'object' && addr ? addr.port : 0}`);
});

function stop(): void {
  pub?.close();
  for (const s of subs) s.close();
  control.close();
  nodeDataChannel.cleanup();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
