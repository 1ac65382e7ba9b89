/**
 * The media server facade: viewer sessions (POST /offer, WHEP), publisher sessions (WHIP), the
 * stream registry and recordings. Close order: peers, then sources (ffmpeg), then recordings.
 */
import type { SessionDataHandler } from './sessions/sessionData.ts';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ParleyError, type IceServer } from '@parley-rtc/protocol';
import type { Logger } from '../util/logger.ts';
import type { MediaConfig } from './config.ts';
import type { MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import { parseSdp } from '@parley-rtc/rtc/sdp';
import { PublisherSession } from './sessions/PublisherSession.ts';
import { ViewerSession } from './sessions/ViewerSession.ts';
import { SetupTimeline } from './sessions/setupTimeline.ts';
import { StreamRegistry } from './StreamRegistry.ts';
import { RecordingManager, type RecordingInfo } from './recording/RecordingManager.ts';

export type SessionRole = 'whep' | 'whip' | 'offer';

export interface MediaServiceOptions {
  media: MediaConfig;
  /** ICE servers for one server-side peer (TURN credentials are minted per peer). */
  iceServers: (peerId: string) => IceServer[];
  dataDir: string;
  log: Logger;
  /** App data on viewer sessions' data channels (default: the ping → pong echo). */
  sessionData?: SessionDataHandler;
  /** Called when a recording is finalised (webhooks). */
  onRecordingFinished?: (info: RecordingInfo) => void;
}

export class MediaService {
  readonly streams: StreamRegistry;
  readonly recordings: RecordingManager;
  readonly #viewers = new Map<string, ViewerSession>();
  readonly #publishers = new Map<string, PublisherSession>();
  /** ICE ufrag of each session's offer, to tell trickle from ICE restart in PATCH. */
  readonly #ufrags = new Map<string, string>();
  readonly #config: MediaConfig;
  readonly #iceServers: (peerId: string) => IceServer[];
  readonly #peerBase: Omit<MediaPeerOptions, 'iceServers'>;
  readonly #log: Logger;
  readonly #sessionData: SessionDataHandler | undefined;
  #pending = 0;
  /** Live sessions per client address, for `maxPeersPerClient`. */
  readonly #perClient = new Map<string, number>();
  /** Bytes sent and received by sessions that have closed (live ones are summed on demand). */
  #closedBytes = { sent: 0, received: 0 };
  #closing: Promise<void> | undefined;

  constructor(opts: MediaServiceOptions) {
    this.#config = opts.media;
    this.#log = opts.log;
    this.#sessionData = opts.sessionData;
    this.#iceServers = opts.iceServers;
    this.#peerBase = {
      bindAddress: opts.media.bindAddress,
      portRangeBegin: opts.media.portRangeBegin,
      portRangeEnd: opts.media.portRangeEnd,
    };
    this.recordings = new RecordingManager(
      resolve(opts.media.recordingsDir ?? join(opts.dataDir, 'recordings')),
      opts.log,
      opts.onRecordingFinished,
      opts.media.recordingRetentionMs,
    );
    this.streams = new StreamRegistry(opts.media, this.recordings, opts.log);
  }

  #peerOptions(id: string): MediaPeerOptions {
    return { ...this.#peerBase, iceServers: this.#iceServers(id) };
  }

  get defaultStream(): string {
    return this.#config.defaultStream;
  }

  remoteUfrag(id: string): string | undefined {
    return this.#ufrags.get(id);
  }

  #rememberUfrag(id: string, offerSdp: string, session: { on(e: 'close', fn: () => void): unknown }): void {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offerSdp)?.[1];
    if (ufrag) this.#ufrags.set(id, ufrag);
    session.on('close', () => this.#ufrags.delete(id));
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  get publisherCount(): number {
    return this.#publishers.size;
  }

  #admit(client: string | undefined): void {
    if (this.#closing) throw new ParleyError('SHUTTING_DOWN');
    if (this.#viewers.size + this.#publishers.size + this.#pending >= this.#config.maxPeers) {
      throw new ParleyError('MEDIA_UNAVAILABLE', `this server already runs ${this.#config.maxPeers} media peers`);
    }
    if (client !== undefined && (this.#perClient.get(client) ?? 0) >= this.#config.maxPeersPerClient) {
      throw new ParleyError('RATE_LIMITED', `at most ${this.#config.maxPeersPerClient} media sessions per client`);
    }
  }

  /** Counts a session against its client until it closes, and keeps its byte totals. */
  #track(client: string | undefined, session: ViewerSession | PublisherSession): void {
    if (client !== undefined) this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    session.on('close', () => {
      for (const t of session.peer.tracks) {
        this.#closedBytes.sent += t.bytesSent;
        this.#closedBytes.received += t.bytesReceived;
      }
      if (client === undefined) return;
      const n = (this.#perClient.get(client) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(client);
      else this.#perClient.set(client, n);
    });
  }

  /** Media bytes sent to and received from peers since start (RTP payloads on the wire). */
  bytes(): { sent: number; received: number } {
    const total = { ...this.#closedBytes };
    for (const session of [...this.#viewers.values(), ...this.#publishers.values()]) {
      for (const t of session.peer.tracks) {
        total.sent += t.bytesSent;
        total.received += t.bytesReceived;
      }
    }
    return total;
  }

  /** Answers a viewer's offer for `stream`; the session lives until the peer goes away or DELETE. */
  async view(stream: string, offerSdp: string, client?: string): Promise<{ id: string; answer: string }> {
    const setup = new SetupTimeline();
    this.#admit(client);
    const offer = parseSdp(offerSdp);
    this.#pending++;
    try {
      const source = await this.streams.open(stream);
      const id = randomUUID();
      const { session, answer } = await ViewerSession.answer(
        id,
        source,
        offerSdp,
        offer,
        this.#peerOptions(id),
        this.#log,
        setup,
        this.#sessionData,
      );
      if (this.#closing) {
        session.close('shutting down');
        throw new ParleyError('SHUTTING_DOWN');
      }
      this.#viewers.set(id, session);
      session.on('close', () => this.#viewers.delete(id));
      this.#track(client, session);
      this.#rememberUfrag(id, offerSdp, session);
      return { id, answer };
    } finally {
      this.#pending--;
    }
  }

  /** Answers a WHIP publisher's offer; the stream is live for viewers from now on. */
  async publish(stream: string, offerSdp: string, client?: string): Promise<{ id: string; answer: string }> {
    this.#admit(client);
    const offer = parseSdp(offerSdp);
    this.streams.assertPublishable(stream);
    this.#pending++;
    try {
      const id = randomUUID();
      const { session, answer } = await PublisherSession.answer(id, stream, offerSdp, offer, this.#peerOptions(id), this.#log, (s) =>
        this.streams.addLive(s.source),
      );
      this.#publishers.set(id, session);
      this.#track(client, session);
      this.#rememberUfrag(id, offerSdp, session);
      session.on('close', () => {
        this.#publishers.delete(id);
        this.recordings.stopStream(stream);
      });
      if (this.#config.recordWhip) {
        try {
          this.recordings.start(session.source);
        } catch (err) {
          this.#log.warn({ err, stream }, 'cannot record WHIP stream');
        }
      }
      return { id, answer };
    } finally {
      this.#pending--;
    }
  }

  session(role: 'whep' | 'whip', stream: string, id: string): ViewerSession | PublisherSession | undefined {
    const s = role === 'whip' ? this.#publishers.get(id) : this.#viewers.get(id);
    return s && s.stream === stream ? s : undefined;
  }

  /** Ends a session (WHIP/WHEP DELETE). */
  stop(role: 'whep' | 'whip', stream: string, id: string): void {
    const s = this.session(role, stream, id);
    if (!s) throw new ParleyError('NOT_FOUND', `no ${role.toUpperCase()} session ${id} on ${stream}`);
    s.close('deleted by client');
  }

  async startRecording(stream: string): Promise<RecordingInfo> {
    const live = this.streams.live(stream);
    if (live) return this.recordings.start(live);
    // configured sources can be recorded too: the recorder is a sink like a viewer
    const source = await this.streams.open(stream);
    return this.recordings.start(source);
  }

  /** Peers first, then sources (ffmpeg children), then recordings. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const v of [...this.#viewers.values()]) v.close('server shutting down');
      for (const p of [...this.#publishers.values()]) p.close('server shutting down');
      await this.streams.close();
      this.recordings.close();
    })();
    return this.#closing;
  }
}
