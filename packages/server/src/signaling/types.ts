/** The shapes shared by Signaling, its per-domain handlers and the features that plug into it. */
import type { Server, Socket } from 'socket.io';
import type { IceServer, LogEntry, MediaFlags, ServerToClientEvents, SessionEndReason } from '@parley-rtc/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import type { Grants } from '../auth/grants.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { LogStore, NewEntry } from '../roomlog/LogStore.ts';
import type { Logger } from '../util/logger.ts';
import type { RoomRegistry } from './RoomRegistry.ts';
import type { SharedMembership } from './SharedMembership.ts';

export interface SignalingOptions {
  store: LogStore;
  log: Logger;
  tokens: TokenService;
  metrics: Metrics;
  /** Per-socket event rate. */
  eventRate: { ratePerSec: number; burst: number };
  /**
   * ICE servers for a member (may mint per-member TURN credentials that expire by `notAfterSec`,
   * the member's token expiry) and when those credentials expire.
   */
  iceServers: (memberId: string, notAfterSec: number | undefined) => { iceServers: IceServer[]; expiresAt: number | undefined };
  /** The registry to use (cluster mode builds it first, to mirror the cluster into it); else a new one. */
  registry?: RoomRegistry | undefined;
  /** Cluster mode: delivers a stored entry to the room on every node, in seq order (else: a room broadcast). */
  deliverEntry?: ((room: string, entry: LogEntry) => void) | undefined;
  /** Cluster mode: where a room's log stands when a member joins (before it can write), for live delivery. */
  primeDelivery?: ((room: string, lastSeq: number) => Promise<void>) | undefined;
  /** Cluster mode: room membership shared through Redis. Absent on one node. */
  shared?: SharedMembership | undefined;
  limits: {
    maxPeersPerRoom: number;
    maxRooms: number;
    joinCatchUp: number;
    maxReplay: number;
    maxEventBytes: number;
    /** How long a member whose socket dropped stays in its room, resumable, before it leaves. */
    resumeGraceMs: number;
  };
}

/** Who sent an event that a feature handles: a member of `room`. */
export interface FeatureEventContext {
  /** The sender's member id (its session in the room; public, the id other members know it by). */
  memberId: string;
  room: string;
  grants: Grants;
}

/** Who a membership change is about (webhooks and the server API name members this way). */
export interface MemberInfo {
  id: string;
  name: string;
  /** The token's subject ('anonymous' in open mode). */
  identity: string;
}

/** Room membership changes, for features; `members` is the member count after the change. */
export interface MembershipListener {
  joined?(memberId: string, room: string, members: number, member: MemberInfo): void;
  left?(memberId: string, room: string, members: number, member: MemberInfo): void;
  /** The member came back on a new socket within the resume grace (it may have missed events). */
  resumed?(memberId: string, room: string, members: number, member: MemberInfo): void;
  /**
   * The member's seat was taken over by a client that kept nothing of it (a reloaded page, or the
   * same token identity joining again): same member id, but its media connections are gone.
   */
  restarted?(memberId: string, room: string, members: number, member: MemberInfo): void;
  /** The member's grants changed (server API); features drop what the new grants no longer allow. */
  grantsChanged?(memberId: string, room: string, grants: Grants): void;
  /** The member was asked to stop sending a kind of media (an admin or the server API). */
  muteRequested?(memberId: string, room: string, kind: MediaKind): void;
  /** A room's settings changed (server API), e.g. its mesh limit: re-evaluate what depends on them. */
  roomSettingsChanged?(room: string): void;
  /** The member's own media flags (`media_state`) changed. */
  mediaChanged?(memberId: string, room: string, flags: MediaFlags): void;
}

export type MembershipChange = 'joined' | 'left' | 'resumed' | 'restarted';

export type MediaKind = 'audio' | 'video' | 'screen';

/** Untyped inbound map: every payload is `unknown` until its protocol schema has parsed it. */
export type InboundEvents = Record<string, (...args: unknown[]) => void>;
/** Per-socket state: the member (session) this socket currently carries. */
export interface SocketData {
  memberId?: string | undefined;
}
export type ParleyIo = Server<InboundEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ParleySocket = Socket<InboundEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * Member ids name sessions, not sockets, so a session can move to a new socket on reconnect. They
 * start with '_', which no room name can, and each member's sockets join the room `member:<id>`.
 */
export const memberRoom = (memberId: string): string => `member:${memberId}`;

/** What the per-domain handlers share: Signaling's state and the membership changes they cause. */
export interface SignalingHub {
  readonly io: ParleyIo;
  readonly registry: RoomRegistry;
  readonly options: SignalingOptions;
  /** Cluster mode's shared membership; undefined on one node. */
  readonly shared: SharedMembership | undefined;
  /** False once the server stopped admitting joins (shutdown). */
  isAdmitting(): boolean;
  /** Appends to a room's log and delivers the entry live to the room. */
  publish(room: string, entry: NewEntry): Promise<LogEntry>;
  /**
   * Removes a member from its room and tells the others. Returns whether it was in one. In cluster
   * mode the seat is removed only if it did not move to another socket since (`anyEpoch`: whatever).
   */
  removeMember(memberId: string, anyEpoch?: boolean): boolean;
  /** Ends a member's session (told why, removed at once, sockets closed). */
  endSession(memberId: string, reason: SessionEndReason, message: string): boolean;
  /** Sends a member `mute_request` and tells the mute listeners. */
  requestMute(memberId: string, kind: MediaKind, by: string): boolean;
  /** Tells the membership listeners about a member's new media flags. */
  mediaChanged(memberId: string, room: string, flags: MediaFlags): void;
  /** Tells the features' membership listeners. */
  notify(kind: MembershipChange, member: MemberInfo, room: string, members: number): void;
}
