/**
 * node-datachannel clients for media tests and benchmarks: a WHIP publisher that sends
 * pre-encoded VP8 (an IVF made once with ffmpeg) and jumps to the next key frame on PLI, and a
 * viewer that counts RTP packets/frames. Both retry a failed connect once (libdatachannel
 * loopback races, see shared/browser-testing.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { packetizeVp8, isVp8KeyFrame, isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { writeRtp, randomSsrc, rtpPayloadOffset } from '@parley-rtc/rtc/rtp/rtp';

export const PEER_OPTIONS = { iceServers: [], bindAddress: '127.0.0.1' };

export interface IvfMedia {
  fps: number;
  width: number;
  height: number;
  frames: Array<{ data: Buffer; key: boolean }>;
}

/** Encodes (once per machine) a short VP8 test clip with a key frame every `gop` frames. */
export function testClip(seconds = 4, gop = 10, size = '320x240'): IvfMedia {
  const path = join(tmpdir(), `parley-test-${seconds}s-g${gop}${size === '320x240' ? '' : `-${size}`}.ivf`);
  if (!existsSync(path)) {
    execFileSync('ffmpeg', [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=30:duration=${seconds}`,
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '400k',
      '-g',
      String(gop),
      '-auto-alt-ref',
      '0',
      `${path}.tmp.ivf`,
    ]);
    execFileSync('mv', [`${path}.tmp.ivf`, path]);
  }
  const buf = readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error('not an IVF file');
  const headerLen = buf.readUInt16LE(6);
  const frames: IvfMedia['frames'] = [];
  for (let off = headerLen; off + 12 <= buf.length;) {
    const size = buf.readUInt32LE(off);
    const data = buf.subarray(off + 12, off + 12 + size);
    frames.push({ data, key: isVp8KeyFrame(data) });
    off += 12 + size;
  }
  return { width: buf.readUInt16LE(12), height: buf.readUInt16LE(14), fps: buf.readUInt32LE(16) / buf.readUInt32LE(20), frames };
}

/** Runs `attempt`, and once more if it fails (libdatachannel loopback races; the failure is logged). */
export async function withRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    console.error(`${what}: first attempt failed (${(err as Error).message}); retrying once`);
    return attempt();
  }
}

async function postSdp(url: string, sdp: string): Promise<{ location: string; answer: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${url}: ${res.status} ${text}`);
  const location = res.headers.get('location');
  if (!location) throw new Error('no Location header');
  return { location: new URL(location, url).toString(), answer: text };
}

/**
 * Sends a VP8 clip as RTP at its frame rate on one track: in real time (catching up after a
 * late timer), looping, and jumping to the next key frame when asked (after a PLI).
 */
export class Vp8Pacer {
  framesSent = 0;
  /** A header extension block put on every packet (e.g. a simulcast layer's rid). */
  extension: { profile: number; data: Buffer } | undefined;
  #seq: number;
  #ts: number;
  #idx = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly media: IvfMedia,
    readonly ssrc: number,
    start: { seq: number; ts: number } = { seq: Math.floor(Math.random() * 60000), ts: Math.floor(Math.random() * 1e9) },
  ) {
    this.#seq = start.seq;
    this.#ts = start.ts;
  }

  /** Starts sending on `track` (idempotent: a running pacer keeps its timer). */
  start(track: MediaTrack): void {
    if (this.#timer) return;
    const period = 1000 / this.media.fps;
    const t0 = performance.now();
    let k = 0;
    const tick = (): void => {
      while (t0 + k * period <= performance.now()) {
        this.#sendFrame(track);
        k++;
      }
      this.#timer = setTimeout(tick, Math.max(0, t0 + k * period - performance.now()));
    };
    tick();
  }

  jumpToKeyFrame(): void {
    const frames = this.media.frames;
    for (let i = 0; i < frames.length; i++) {
      const j = (this.#idx + i) % frames.length;
      if (frames[j]!.key) {
        this.#idx = j;
        return;
      }
    }
  }

  /** Sends one RTP packet in the stream's sequence space (fields overridable for bad input). */
  send(track: MediaTrack, p: { payloadType: number; payload: Buffer; marker?: boolean; ssrc?: number }): void {
    const extension = this.extension;
    track.sendRtp(
      writeRtp({
        marker: p.marker ?? false,
        payloadType: p.payloadType,
        sequenceNumber: this.#seq,
        timestamp: this.#ts,
        ssrc: p.ssrc ?? this.ssrc,
        payload: p.payload,
        ...(extension ? { extension } : {}),
      }),
    );
    this.#seq = (this.#seq + 1) & 0xffff;
  }

  /** Leaves `n` sequence numbers unused (simulated loss before the receiver). */
  skip(n: number): void {
    this.#seq = (this.#seq + n) & 0xffff;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #sendFrame(track: MediaTrack): void {
    const frame = this.media.frames[this.#idx]!;
    const payloads = packetizeVp8(frame.data);
    payloads.forEach((payload, i) => this.send(track, { payloadType: 96, payload, marker: i === payloads.length - 1 }));
    this.#ts = (this.#ts + Math.round(90000 / this.media.fps)) >>> 0;
    this.#idx = (this.#idx + 1) % this.media.frames.length;
    this.framesSent++;
  }
}

export class NodeWhipPublisher {
  peer!: MediaPeer;
  track!: MediaTrack;
  location = '';
  plis = 0;
  readonly #pacer: Vp8Pacer;

  constructor(media: IvfMedia) {
    this.#pacer = new Vp8Pacer(media, randomSsrc());
  }

  get framesSent(): number {
    return this.#pacer.framesSent;
  }

  /** Publishes to `url` (…/whip/<stream>) and starts sending once connected. */
  async connect(url: string): Promise<void> {
    await withRetry('whip publish', async () => {
      this.peer?.close();
      if (this.location) await fetch(this.location, { method: 'DELETE' }).catch(() => {});
      this.peer = new MediaPeer('whip-pub', PEER_OPTIONS);
      this.track = this.peer.addTrack({
        mid: '0',
        kind: 'video',
        direction: 'send',
        codec: { kind: 'video', name: 'vp8', clockRate: 90000 },
        payloadType: 96,
        ssrc: this.#pacer.ssrc,
      });
      this.track.on('rtcp', (packets) => {
        if (packets.some((p) => p.type === 'pli')) {
          this.plis++;
          this.#pacer.jumpToKeyFrame();
        }
      });
      const offer = await this.peer.createOffer();
      const { location, answer } = await postSdp(url, offer);
      this.location = location;
      this.peer.setAnswer(answer);
      await this.peer.waitConnected(8000);
    });
    this.#pacer.start(this.track);
  }

  async close(): Promise<void> {
    this.#pacer.stop();
    if (this.location) await fetch(this.location, { method: 'DELETE' }).catch(() => {});
    this.peer?.close();
  }
}

/** Receives a stream (WHEP or POST /offer) and counts RTP packets and frames (marker bits). */
export class RtpViewer {
  peer!: MediaPeer;
  video!: MediaTrack;
  audio!: MediaTrack;
  location = '';
  videoPackets = 0;
  audioPackets = 0;
  frames = 0;
  firstPacketAt: number | undefined;
  /** Whether the first video packet received started a VP8 key frame (undefined before one came). */
  firstVideoIsKeyFrame: boolean | undefined;
  /** Sequence number of the first video packet, and how often it arrived (more than once: resent). */
  firstVideoSeq: number | undefined;
  firstVideoSeqSeen = 0;
  readonly name: string;

  constructor(name = 'viewer') {
    this.name = name;
  }

  async #setup(): Promise<string> {
    this.peer?.close();
    this.peer = new MediaPeer(this.name, PEER_OPTIONS);
    this.video = this.peer.addTrack({
      mid: '0',
      kind: 'video',
      direction: 'recv',
      codec: { kind: 'video', name: 'vp8', clockRate: 90000 },
      payloadType: 96,
    });
    this.audio = this.peer.addTrack({
      mid: '1',
      kind: 'audio',
      direction: 'recv',
      codec: { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 },
      payloadType: 111,
    });
    this.video.on('rtp', (p) => {
      this.firstPacketAt ??= performance.now();
      this.firstVideoSeq ??= p.readUInt16BE(2);
      if (p.readUInt16BE(2) === this.firstVideoSeq) this.firstVideoSeqSeen++;
      if (this.firstVideoIsKeyFrame === undefined) {
        const offset = rtpPayloadOffset(p);
        this.firstVideoIsKeyFrame = offset !== undefined && isVp8KeyFrameStart(p.subarray(offset));
      }
      this.videoPackets++;
      if (p[1]! & 0x80) this.frames++;
    });
    this.audio.on('rtp', () => this.audioPackets++);
    return this.peer.createOffer();
  }

  /** WHEP: POST the offer to …/whep/<stream>. */
  async whep(url: string, timeoutMs = 8000): Promise<void> {
    await withRetry(`${this.name} whep`, async () => {
      if (this.location) await fetch(this.location, { method: 'DELETE' }).catch(() => {});
      const offer = await this.#setup();
      const { location, answer } = await postSdp(url, offer);
      this.location = location;
      this.peer.setAnswer(answer);
      await this.peer.waitConnected(timeoutMs);
    });
  }

  /** aiortc-style JSON POST /offer. */
  async offer(url: string, stream?: string, timeoutMs = 8000): Promise<void> {
    await withRetry(`${this.name} offer`, async () => {
      const offer = await this.#setup();
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sdp: offer, type: 'offer', stream }),
      });
      const body: unknown = await res.json();
      if (res.status !== 200 || typeof body !== 'object' || body === null || !('sdp' in body) || typeof body.sdp !== 'string') {
        throw new Error(`POST /offer: ${res.status} ${JSON.stringify(body)}`);
      }
      this.peer.setAnswer(body.sdp);
      await this.peer.waitConnected(timeoutMs);
    });
  }

  async close(): Promise<void> {
    if (this.location) await fetch(this.location, { method: 'DELETE' }).catch(() => {});
    this.peer?.close();
  }
}
