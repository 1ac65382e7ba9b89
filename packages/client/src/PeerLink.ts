import type { CandidateRequest, PeerInfo } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { decideOnDescription } from './negotiation.ts';
import { setReceiveDirections } from './receiveDirections.ts';
import {
  EMPTY_MEDIA_STATE,
  PEER_CHANNEL_ID,
  PEER_CHANNEL_LABEL,
  parsePeerMessage,
  type PeerMediaState,
  type PeerMessage,
} from './peerMessages.ts';
import { summarizeStats, type PeerStats } from './stats.ts';
import { createDataChannelPair, type DataChannelPair, type DataPathSink } from './DataChannels.ts';

/** Which local source a sender carries. */
export type TrackSlot = 'audio' | 'video' | 'screen';

/** A local track and the stream it is published in (the stream id tells remotes what it is). */
export interface LocalTrack {
  track: MediaStreamTrack;
  stream: MediaStream | undefined;
}

/** A remote track, labelled with what the sender says it is. */
export interface RemoteTrack {
  peerId: string;
  track: MediaStreamTrack;
  stream: MediaStream | undefined;
  source: 'camera' | 'screen';
}

/** How a PeerLink sends signaling messages; the SignalClient implements it. */
export interface SignalSender {
  offer(to: string, sdp: string): Promise<unknown>;
  answer(to: string, sdp: string): Promise<unknown>;
  candidate(to: string, candidate: CandidateRequest['candidate']): Promise<unknown>;
}

/** @internal */
export interface PeerLinkOptions {
  peer: PeerInfo;
  polite: boolean;
  iceServers: RTCIceServer[];
  signal: SignalSender;
  /** Creates the RTCPeerConnection; injectable so Node bots can pass a polyfill. */
  createPeerConnection: (config: RTCConfiguration) => RTCPeerConnection;
  /**
   * Whether this side makes the first offer. The peer already in the room initiates; the newcomer
   * waits for that offer (or `initiatorTimeoutMs`) before publishing, so a join never starts
   * with glare. Later renegotiations may come from either side.
   */
  initiator: boolean;
  initiatorTimeoutMs?: number;
  /** Restart ICE when a negotiated connection has not connected within this many ms. */
  iceWatchdogMs?: number;
  /** False without the subscribe grant: our descriptions then receive nothing (default true). */
  receive?: boolean;
  /** Where the link's app-data channels are registered (created with the link, kept until close). */
  data?: DataPathSink;
}

/** @internal */
export interface PeerLinkEvents {
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** The remote's media state (mute flags, which stream is the screen) changed. */
  mediaState: [state: PeerMediaState];
  connectionState: [state: RTCPeerConnectionState];
  error: [error: Error];
}

/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern:
 * either side may renegotiate at any time (adding a screen share, switching a device); when both
 * offer at once the impolite side ignores the other's offer and the polite side rolls back.
 * Incoming signaling is applied strictly in arrival order, and ICE candidates that arrive before
 * the remote description are queued until it is set.
 * @internal
 */
export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly peer: PeerInfo;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;
  readonly #signal: SignalSender;
  #channel: RTCDataChannel | undefined;
  #dataChannels: DataChannelPair | undefined;
  readonly #data: DataPathSink | undefined;
  #started = false;
  readonly #pendingLocal = new Map<TrackSlot, LocalTrack | null>();
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #iceRestarts = 0;
  readonly #iceWatchdogMs: number;
  readonly #senders = new Map<TrackSlot, RTCRtpSender>();
  readonly #remoteTracks = new Map<string, RemoteTrack>();
  #remoteState: PeerMediaState = EMPTY_MEDIA_STATE;
  #localState: PeerMediaState = EMPTY_MEDIA_STATE;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswerPending = false;
  #pendingCandidates: RTCIceCandidateInit[] = [];
  #inbox: Promise<void> = Promise.resolve();
  #closed = false;
  #receive: boolean;

  constructor(options: PeerLinkOptions) {
    super();
    this.#receive = options.receive ?? true;
    this.peer = options.peer;
    this.polite = options.polite;
    this.#signal = options.signal;
    this.#data = options.data;
    this.pc = options.createPeerConnection({ iceServers: options.iceServers });
    this.#iceWatchdogMs = options.iceWatchdogMs ?? 8000;
    this.pc.onnegotiationneeded = () => void this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      // End-of-candidates (null) is not needed by current browsers; skip the round trip.
      if (!candidate) return;
      const init = {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex,
        usernameFragment: candidate.usernameFragment,
      };
      this.#send(() => this.#signal.candidate(this.peer.id, init));
    };
    this.pc.ontrack = (event) => this.#onTrack(event);
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      if (state === 'failed') this.#restartIce();
      if (state === 'connected') this.#iceRestarts = 0;
      this.#armWatchdog();
      this.emit('connectionState', state);
    };
    this.pc.onsignalingstatechange = () => this.#armWatchdog();
    if (options.initiator) this.#start();
    else this.#startTimer = setTimeout(() => this.#start(), options.initiatorTimeoutMs ?? 3000);
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get remoteState(): PeerMediaState {
    return this.#remoteState;
  }

  get remoteTracks(): RemoteTrack[] {
    return [...this.#remoteTracks.values()];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Applies a remote offer or answer (queued behind earlier signaling). */
  handleDescription(description: { type: 'offer' | 'answer'; sdp?: string | undefined }): Promise<void> {
    return this.#enqueue(async () => {
      const pc = this.pc;
      const decision = decideOnDescription(description.type, this.polite, {
        makingOffer: this.#makingOffer,
        signalingState: pc.signalingState,
        settingRemoteAnswerPending: this.#settingRemoteAnswerPending,
      });
      this.#ignoreOffer = decision === 'ignore';
      if (this.#ignoreOffer) return;
      if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') return; // stale answer
      this.#settingRemoteAnswerPending = description.type === 'answer';
      try {
        // On a collision the polite side's setRemoteDescription rolls back its own offer implicitly.
        await pc.setRemoteDescription(description.sdp === undefined ? { type: description.type } : description);
      } finally {
        this.#settingRemoteAnswerPending = false;
      }
      await this.#flushCandidates();
      if (description.type === 'offer') {
        // The newcomer publishes now: tracks added before the answer ride on the offered m-lines.
        this.#start();
        if (!this.#receive) setReceiveDirections(pc, false);
        await pc.setLocalDescription();
        await this.#sendLocalDescription();
      }
    });
  }

  /** Adds a remote ICE candidate, or queues it until the remote description is set. */
  handleCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    return this.#enqueue(async () => {
      if (candidate === null) return;
      if (!this.pc.remoteDescription) {
        this.#pendingCandidates.push(candidate);
        return;
      }
      await this.#addCandidate(candidate);
    });
  }

  /**
   * Publishes, replaces or withdraws the track in a slot. Replacing uses RTCRtpSender.replaceTrack
   * (no renegotiation); adding or removing a sender triggers renegotiation.
   */
  async setTrack(slot: TrackSlot, local: LocalTrack | null): Promise<void> {
    if (this.#closed) return;
    if (!this.#started) {
      this.#pendingLocal.set(slot, local);
      return;
    }
    const sender = this.#senders.get(slot);
    if (sender && local) {
      if (sender.track !== local.track) await sender.replaceTrack(local.track);
      return;
    }
    if (sender && !local) {
      this.#senders.delete(slot);
      this.pc.removeTrack(sender);
      return;
    }
    if (local) {
      const streams = local.stream ? [local.stream] : [];
      this.#senders.set(slot, this.pc.addTrack(local.track, ...streams));
    }
  }

  /**
   * Whether we may receive media (the subscribe grant). A change renegotiates at once: the new
   * directions make the browser fire negotiationneeded.
   */
  setReceive(receive: boolean): void {
    if (this.#closed || receive === this.#receive) return;
    this.#receive = receive;
    if (this.#started) setReceiveDirections(this.pc, receive);
  }

  /** Tells the remote our mute flags and stream ids over the data channel (sent again on open). */
  setLocalState(state: PeerMediaState): void {
    this.#localState = state;
    this.#sendState();
  }

  async getStats(): Promise<PeerStats> {
    const report = await this.pc.getStats();
    const items: Record<string, unknown>[] = [];
    report.forEach((value: unknown) => {
      if (typeof value === 'object' && value !== null) items.push({ ...value });
    });
    return summarizeStats(this.peer.id, items);
  }

  /** Closes the connection and drops listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const pc = this.pc;
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.onsignalingstatechange = null;
    clearTimeout(this.#startTimer);
    clearTimeout(this.#watchdog);
    if (this.#channel) {
      this.#channel.onopen = null;
      this.#channel.onmessage = null;
      this.#channel.close();
    }
    if (this.#dataChannels) {
      this.#data?.detach(this.peer.id, this.#dataChannels);
      this.#dataChannels.reliable.close();
      this.#dataChannels.lossy.close();
    }
    for (const remote of this.#remoteTracks.values()) {
      if (remote.stream) remote.stream.onremovetrack = null;
    }
    pc.close();
    this.#pendingCandidates = [];
    this.removeAllListeners();
  }

  /** Creates the data channel and publishes the local tracks (once). */
  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    clearTimeout(this.#startTimer);
    const channel = this.pc.createDataChannel(PEER_CHANNEL_LABEL, { negotiated: true, id: PEER_CHANNEL_ID });
    channel.onopen = () => this.#sendState();
    channel.onmessage = (event: MessageEvent<unknown>) => this.#onMessage(parsePeerMessage(event.data));
    this.#channel = channel;
    // App data (sendData): negotiated channels on the same SCTP association, so they outlive
    // renegotiation (screen share) and ICE restarts like the state channel does.
    this.#dataChannels = createDataChannelPair(this.pc);
    this.#data?.attach(this.peer.id, this.#dataChannels);
    for (const [slot, local] of this.#pendingLocal) void this.setTrack(slot, local).catch((e: unknown) => this.#fail(e));
    this.#pendingLocal.clear();
  }

  /**
   * ICE that never connects after a complete offer/answer (candidates lost, a network change,
   * gathering that stalled after a rollback) is restarted a few times with fresh credentials.
   */
  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    const pc = this.pc;
    if (this.#closed || pc.connectionState === 'connected' || pc.signalingState !== 'stable' || !pc.remoteDescription) return;
    this.#watchdog = setTimeout(() => {
      if (pc.connectionState !== 'connected' && pc.signalingState === 'stable') this.#restartIce();
    }, this.#iceWatchdogMs);
  }

  #restartIce(): void {
    if (this.#closed || this.#iceRestarts >= 3) return;
    this.#iceRestarts++;
    this.pc.restartIce();
  }

  async #negotiate(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      if (!this.#receive) setReceiveDirections(this.pc, false);
      await this.pc.setLocalDescription();
      await this.#sendLocalDescription();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#makingOffer = false;
    }
  }

  /**
   * Sends whatever setLocalDescription() produced. An implicit setLocalDescription() queued by
   * negotiationneeded can run after a remote offer was applied and then creates an answer, not an
   * offer: it must be sent all the same, or both sides wait for each other forever.
   */
  async #sendLocalDescription(): Promise<void> {
    const local = this.pc.localDescription;
    if (!local) return;
    if (local.type === 'offer') await this.#signal.offer(this.peer.id, local.sdp);
    else if (local.type === 'answer') await this.#signal.answer(this.peer.id, local.sdp);
  }

  async #addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we ignored (we are impolite and won the glare) are expected to fail.
      if (!this.#ignoreOffer) throw err;
    }
  }

  async #flushCandidates(): Promise<void> {
    const queued = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const c of queued) await this.#addCandidate(c);
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#inbox.then(() => (this.#closed ? undefined : op()));
    // A failed step must not wedge the queue; it is reported and the next step runs.
    this.#inbox = run.catch((err: unknown) => this.#fail(err));
    return this.#inbox;
  }

  #send(fn: () => Promise<unknown>): void {
    fn().catch((err: unknown) => this.#fail(err));
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #onTrack(event: RTCTrackEvent): void {
    const stream = event.streams[0];
    const remote: RemoteTrack = {
      peerId: this.peer.id,
      track: event.track,
      stream,
      source: this.#sourceOf(stream),
    };
    this.#remoteTracks.set(event.track.id, remote);
    if (stream) {
      stream.onremovetrack = (e) => this.#dropTrack(e.track.id);
    }
    event.track.addEventListener('ended', () => this.#dropTrack(event.track.id), { once: true });
    this.emit('track', remote);
  }

  #dropTrack(trackId: string): void {
    const remote = this.#remoteTracks.get(trackId);
    if (!remote || this.#closed) return;
    this.#remoteTracks.delete(trackId);
    this.emit('trackRemoved', remote);
  }

  #sourceOf(stream: MediaStream | undefined): 'camera' | 'screen' {
    return stream !== undefined && stream.id === this.#remoteState.screenStream ? 'screen' : 'camera';
  }

  #onMessage(message: PeerMessage | undefined): void {
    if (!message || this.#closed) return;
    if (message.t === 'state') {
      this.#remoteState = message.state;
      // Relabel tracks that arrived before the state message did.
      for (const [id, remote] of this.#remoteTracks) {
        const source = this.#sourceOf(remote.stream);
        if (source !== remote.source) {
          const relabelled = { ...remote, source };
          this.#remoteTracks.set(id, relabelled);
          this.emit('trackRemoved', remote);
          this.emit('track', relabelled);
        }
      }
      this.emit('mediaState', message.state);
    }
  }

  #sendState(): void {
    if (this.#channel?.readyState !== 'open') return;
    const message: PeerMessage = { t: 'state', state: this.#localState };
    this.#channel.send(JSON.stringify(message));
  }
}
