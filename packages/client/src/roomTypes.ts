/** The Room's public types: its states, events, options and how it sees a remote peer. */
import type {
  ChatEntry,
  LogEntry,
  MemberGrants,
  MuteNotice,
  PeerInfo,
  RecordingState,
  SessionEndReason,
  SfuMode,
  Speaker,
} from '@parley-rtc/protocol';
import type { LocalMedia } from './LocalMedia.ts';
import type { DataMessage } from './DataChannels.ts';
import type { PeerMediaState } from './peerMessages.ts';
import type { RemoteTrack } from './PeerLink.ts';
import type { ResumeStorage } from './resumeStore.ts';
import type { SignalClientOptions } from './SignalClient.ts';

export type RoomConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** A remote participant as the Room sees it. */
export interface RemotePeer {
  id: string;
  name: string;
  /** The state of our peer connection to them. */
  connectionState: RTCPeerConnectionState;
  /** What they told us about their media (mute flags, screen share). */
  media: PeerMediaState;
}

export interface RoomEvents {
  connectionState: [state: RoomConnectionState, reason: string | undefined];
  /** Joined (or rejoined after a reconnect) with this identity. */
  joined: [self: PeerInfo];
  peerJoined: [peer: RemotePeer];
  peerLeft: [peer: RemotePeer];
  /** A peer's connection state or media state changed. */
  peerUpdated: [peer: RemotePeer];
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** A new chat entry (deduplicated, once per seq). */
  chat: [entry: ChatEntry];
  /** Any new room-log entry: chat, event or file (deduplicated). */
  entry: [entry: LogEntry];
  sessionEnded: [reason: SessionEndReason, message: string];
  /**
   * An admin (`by` is its member id) or the server API (`by` is `'server'`) asked us to stop
   * sending a kind of media. Unless `RoomOptions.applyMuteRequests` is false, the Room has already
   * muted the LocalMedia's microphone or camera, or stopped its screen share, when this fires.
   */
  muteRequested: [request: MuteNotice];
  /** The server API changed our grants while we are in the room; these are the grants now. */
  grantsChanged: [grants: MemberGrants];
  /** The media path changed: peer-to-peer links (`mesh`) or the server's SFU (`sfu`). */
  mode: [mode: MediaMode];
  /**
   * Who speaks (SFU mode; the server measures the audio levels): the active speaker's peer id
   * (or null) and everyone speaking, loudest first. Sent when the speaker or the set changes.
   */
  speakers: [active: string | null, speakers: Speaker[]];
  /** The room's recording started or stopped (`error` set when it stopped because of a problem). */
  recording: [state: RecordingState];
  /** App data from another member (`sendData`), delivered once, over a data channel. */
  data: [message: DataMessage];
  error: [error: Error];
}

export type MediaMode = SfuMode['mode'];

export interface ConnectOptions {
  room: string;
  name: string;
  token?: string;
}

export interface RoomOptions {
  /** Local camera/mic/screen to publish; the Room follows its track changes. */
  media?: LocalMedia;
  /**
   * Creates each RTCPeerConnection (default: the global `RTCPeerConnection`); pass one from a
   * WebRTC implementation to run the Room outside a browser.
   */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** Deadline for every request to the server, in ms (default 10 000). */
  ackTimeoutMs?: number;
  /** Extra socket.io-client options (path, transports, reconnection delays…). */
  socket?: SignalClientOptions['socket'];
  /** How many log entries to keep in memory. */
  logCapacity?: number;
  /**
   * After switching between mesh and SFU, the old path to a peer closes once media flows on the
   * new one, or after this many ms at the latest (default 10 000).
   */
  handoverTimeoutMs?: number;
  /**
   * In SFU mode, send the camera as three simulcast layers (¼, ½ and full resolution) so the SFU
   * can forward each subscriber the layer its tile needs (default true).
   */
  simulcast?: boolean;
  /**
   * Apply a mute request (`muteRequested`) to `media` at once: mute the microphone or camera, or
   * stop the screen share (default true). Set false to decide in the app; the server still stops
   * forwarding that source in SFU rooms until the member turns it on again.
   */
  applyMuteRequests?: boolean;
  /**
   * Where the session's resume secret is kept so that a page reload takes the seat back (same
   * peer id; the others see no leave) within the server's resume grace. Default: `sessionStorage`
   * in a browser (per tab), none elsewhere. `null` keeps it in memory only.
   */
  resumeStorage?: ResumeStorage | null;
}
