/**
 * One negotiated media section of a MediaPeer, over a libdatachannel Track. Incoming RTP arrives
 * as Buffers on the `rtp` event (RTCP is parsed and emitted on `rtcp`); outgoing RTP is sent with
 * `sendRtp`. This is the unit an SFU forwards between.
 */
import type { Track } from 'node-datachannel';
import { TypedEmitter } from './emitter.ts';
import { isRtcp } from './rtp/rtp.ts';
import { tryParseRtcp, writePli, type RtcpPacket } from './rtp/rtcp.ts';
import type { CodecSpec } from './sdp.ts';

export type TrackDirection = 'send' | 'recv' | 'sendrecv' | 'inactive';

export interface MediaTrackEvents {
  open: [];
  close: [];
  /** An incoming RTP packet (only on receiving tracks). */
  rtp: [packet: Buffer];
  /** Incoming RTCP, parsed (malformed compounds are dropped). */
  rtcp: [packets: RtcpPacket[]];
}

export interface MediaTrackInit {
  mid: string;
  kind: 'audio' | 'video';
  direction: TrackDirection;
  codec: CodecSpec | undefined;
  /** Negotiated payload type (on the wire for this peer). */
  payloadType: number;
  /** SSRC this side sends with (for RTCP on receive-only tracks too). */
  ssrc: number;
}

export class MediaTrack extends TypedEmitter<MediaTrackEvents> {
  readonly mid: string;
  readonly kind: 'audio' | 'video';
  readonly direction: TrackDirection;
  readonly codec: CodecSpec | undefined;
  readonly payloadType: number;
  readonly ssrc: number;
  /** SSRC of the remote sender, learned from the first incoming RTP packet. */
  remoteSsrc: number | undefined;
  packetsSent = 0;
  bytesSent = 0;
  packetsReceived = 0;
  bytesReceived = 0;
  plisReceived = 0;
  nacksReceived = 0;
  /** Incoming messages dropped as malformed (short, bad RTCP compound, not RTP version 2). */
  malformedDropped = 0;
  #track: Track;
  #closed = false;
  #open = false;

  constructor(track: Track, init: MediaTrackInit) {
    super();
    this.#track = track;
    this.mid = init.mid;
    this.kind = init.kind;
    this.direction = init.direction;
    this.codec = init.codec;
    this.payloadType = init.payloadType;
    this.ssrc = init.ssrc;
    track.onOpen(() => {
      this.#open = true;
      this.emit('open');
    });
    track.onClosed(() => this.#markClosed());
    track.onError(() => this.#markClosed());
    track.onMessage((msg) => this.#onMessage(msg));
  }

  get isOpen(): boolean {
    return this.#open && !this.#closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onMessage(msg: Buffer): void {
    if (this.#closed) return;
    if (!Buffer.isBuffer(msg) || msg.length < 4) {
      this.malformedDropped++;
      return;
    }
    if (isRtcp(msg)) {
      const packets = tryParseRtcp(msg);
      if (packets.length === 0) {
        this.malformedDropped++;
        return;
      }
      for (const p of packets) {
        if (p.type === 'pli') this.plisReceived++;
        else if (p.type === 'nack') this.nacksReceived++;
      }
      this.emit('rtcp', packets);
      return;
    }
    if (msg.length < 12 || msg[0]! >> 6 !== 2) {
      this.malformedDropped++;
      return;
    }
    this.packetsReceived++;
    this.bytesReceived += msg.length;
    this.remoteSsrc ??= msg.readUInt32BE(8);
    this.emit('rtp', msg);
  }

  /** Sends one RTP packet; false when the track is not open (the packet is dropped). */
  sendRtp(packet: Buffer): boolean {
    if (!this.#open || this.#closed) return false;
    try {
      if (!this.#track.sendMessageBinary(packet)) return false;
    } catch {
      return false;
    }
    this.packetsSent++;
    this.bytesSent += packet.length;
    return true;
  }

  /** Sends an RTCP packet (compound or single) on this track's transport. */
  sendRtcp(packet: Buffer): boolean {
    if (!this.#open || this.#closed) return false;
    try {
      return this.#track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  /** Asks the remote sender for a key frame (RTCP PLI); false if its SSRC is not known yet. */
  requestKeyFrame(): boolean {
    if (this.remoteSsrc === undefined) return false;
    return this.sendRtcp(writePli(this.ssrc, this.remoteSsrc));
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    this.emit('close');
    this.removeAllListeners();
  }

  /** Idempotent. The native track is closed; listeners are dropped after `close` fires. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#track.close();
    } catch {
      // already closed natively
    }
    this.#markClosed();
  }
}
