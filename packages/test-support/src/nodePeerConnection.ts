import nodeDataChannel from 'node-datachannel';
import { RTCDataChannel } from 'node-datachannel/polyfill';

/**
 * An RTCPeerConnection for the SDK's Room in Node tests, over node-datachannel's native API:
 * data channels only (no tracks), with what the SDK's PeerLink and SfuDataLink use — implicit
 * `setLocalDescription()`, `negotiationneeded`, trickled candidates, `remoteDescription` null until
 * set, connection / signaling / gathering states. node-datachannel's own W3C polyfill ignores an
 * implicit setLocalDescription() and reports a remote description before one is set, which breaks
 * perfect negotiation. Every peer binds to 127.0.0.1 with no ICE servers.
 *
 * `new Room({ createPeerConnection: createNodePeerConnection })`
 */
export function createNodePeerConnection(): RTCPeerConnection {
  return new NodePeerConnection() as unknown as RTCPeerConnection;
}

type Handler<E = Event> = ((event: E) => void) | null;
let counter = 0;

class NodePeerConnection extends EventTarget {
  onnegotiationneeded: Handler = null;
  onicecandidate: Handler<{ candidate: { candidate: string; sdpMid: string; sdpMLineIndex: null; usernameFragment: null } | null }> = null;
  ontrack: Handler = null;
  onconnectionstatechange: Handler = null;
  onsignalingstatechange: Handler = null;
  ondatachannel: Handler = null;
  readonly #pc = new nodeDataChannel.PeerConnection(`test-${++counter}`, {
    iceServers: [],
    bindAddress: '127.0.0.1',
    disableAutoNegotiation: true,
  });
  /** Channels are kept referenced: libdatachannel closes a channel whose wrapper is collected. */
  readonly #channels: RTCDataChannel[] = [];
  #negotiationAnnounced = false;
  /**
   * Between two libdatachannel peers, an answerer that learns the offerer's address early starts
   * DTLS before the offerer has the answer, and the handshake fails ("certificate verify failed").
   * As MediaPeer does, offers carry no candidates and ours trickle only once the answer is applied.
   */
  readonly #heldCandidates: Array<{ candidate: string; sdpMid: string; sdpMLineIndex: null; usernameFragment: null }> = [];
  #closed = false;

  constructor() {
    super();
    this.#pc.onLocalCandidate((candidate, mid) => {
      const init = { candidate, sdpMid: mid, sdpMLineIndex: null, usernameFragment: null };
      if (this.#pc.signalingState() === 'have-local-offer') this.#heldCandidates.push(init);
      else this.onicecandidate?.({ candidate: init });
    });
    this.#pc.onStateChange(() => this.#fire('connectionstatechange', this.onconnectionstatechange));
    this.#pc.onSignalingStateChange(() => {
      if (this.#pc.signalingState() !== 'have-local-offer') {
        for (const candidate of this.#heldCandidates.splice(0)) this.onicecandidate?.({ candidate });
      }
      this.#fire('signalingstatechange', this.onsignalingstatechange);
    });
    this.#pc.onGatheringStateChange(() => this.#fire('icegatheringstatechange', null));
    this.#pc.onDataChannel((dc) => this.#channels.push(new RTCDataChannel(dc)));
  }

  get connectionState(): RTCPeerConnectionState {
    return this.#closed ? 'closed' : this.#pc.state();
  }

  get signalingState(): RTCSignalingState {
    return this.#closed ? 'closed' : this.#pc.signalingState();
  }

  get iceGatheringState(): RTCIceGatheringState {
    const state = this.#pc.gatheringState() as string;
    return state === 'in-progress' ? 'gathering' : (state as RTCIceGatheringState);
  }

  get localDescription(): RTCSessionDescriptionInit | null {
    const local = this.#closed ? null : this.#pc.localDescription();
    if (!local || local.type === 'unspec') return null;
    if (local.type !== 'offer') return { type: local.type, sdp: local.sdp };
    return { type: 'offer', sdp: local.sdp.replace(/^a=(candidate|end-of-candidates).*\r?\n/gm, '') };
  }

  get remoteDescription(): RTCSessionDescriptionInit | null {
    const remote = this.#closed ? null : this.#pc.remoteDescription();
    return remote && remote.type !== 'unspec' ? { type: remote.type, sdp: remote.sdp } : null;
  }

  createDataChannel(label: string, init: RTCDataChannelInit = {}): RTCDataChannel {
    const native = this.#pc.createDataChannel(label, {
      ...(init.negotiated !== undefined ? { negotiated: init.negotiated } : {}),
      ...(init.id !== undefined ? { id: init.id } : {}),
      ...(init.ordered === false ? { unordered: true } : {}),
      ...(init.maxRetransmits !== undefined ? { maxRetransmits: init.maxRetransmits } : {}),
    });
    const channel = new RTCDataChannel(native, init);
    this.#channels.push(channel);
    if (!this.#negotiationAnnounced) {
      this.#negotiationAnnounced = true;
      queueMicrotask(() => this.#announceNegotiation());
    }
    return channel;
  }

  /** As a browser: only in 'stable', and only while no description has the data section yet. */
  #announceNegotiation(): void {
    if (this.#closed || this.#pc.localDescription()?.sdp.includes('m=application')) return;
    if (this.#pc.signalingState() === 'stable') this.#fire('negotiationneeded', this.onnegotiationneeded);
    else this.addEventListener('signalingstatechange', () => this.#announceNegotiation(), { once: true });
  }

  async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description?.type === 'rollback') this.#pc.setLocalDescription('rollback');
    else this.#pc.setLocalDescription();
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description.sdp === undefined) throw new DOMException('no sdp', 'InvalidStateError');
    this.#pc.setRemoteDescription(description.sdp, description.type);
  }

  async addIceCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    await Promise.resolve();
    if (!candidate?.candidate) return;
    this.#pc.addRemoteCandidate(candidate.candidate, candidate.sdpMid ?? '0');
  }

  restartIce(): void {
    // libdatachannel has no ICE restart; the tests run on loopback.
  }

  getTransceivers(): never[] {
    return [];
  }

  getSenders(): never[] {
    return [];
  }

  async getStats(): Promise<Map<string, unknown>> {
    return new Map();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels) channel.close();
    this.#pc.close();
  }

  #fire(type: string, handler: Handler): void {
    if (this.#closed) return;
    const event = new Event(type);
    handler?.(event);
    this.dispatchEvent(event);
  }
}
