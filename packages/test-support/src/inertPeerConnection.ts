/**
 * A stand-in for the browser's RTCPeerConnection in Node, where there is no WebRTC: it has only
 * the members the SDK's PeerLink touches, negotiates nothing, and records what the Room does to it
 * (its configuration, how often it was reconfigured, whether it was closed). Tests of the SDK
 * against a real server use it to cover signaling, not media; the browser e2e tests cover media.
 */
/** A data channel that never opens: it has what the SDK's PeerLink and data channels touch. */
class InertDataChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType: BinaryType = 'arraybuffer';
  onopen = null;
  onmessage = null;
  onclose = null;

  constructor(readonly label: string) {
    super();
  }

  close() {
    this.readyState = 'closed';
  }

  send() {}
}

export class InertPeerConnection extends EventTarget {
  connectionState: RTCPeerConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  remoteDescription = null;
  localDescription = null;
  onnegotiationneeded = null;
  onicecandidate = null;
  ontrack = null;
  onconnectionstatechange = null;
  onsignalingstatechange = null;
  closed = false;
  /** How often the Room gave this connection a new configuration. */
  reconfigured = 0;

  constructor(public config: RTCConfiguration = {}) {
    super();
  }

  createDataChannel(label: string) {
    return new InertDataChannel(label);
  }

  getConfiguration(): RTCConfiguration {
    return this.config;
  }

  setConfiguration(config: RTCConfiguration) {
    this.reconfigured++;
    this.config = config;
  }

  async getStats() {
    return new Map();
  }

  close() {
    this.closed = true;
  }
}
