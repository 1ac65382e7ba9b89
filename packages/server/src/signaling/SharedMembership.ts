/**
 * Room membership shared by the nodes of a cluster (cluster mode; `cluster/RedisMembership.ts`).
 * On one node there is none, and the RoomRegistry alone holds the rooms. In cluster mode the
 * registry mirrors every room's members, whichever node carries them (`Member.node`), and this is
 * where seats are admitted, moved, changed and removed, atomically for the whole cluster.
 */
import type { LiveRoom, Member } from './RoomRegistry.ts';

/** Why a seat left the cluster without this node removing it. */
export type SeatRemoval =
  /** Another node removed it (leave, kick, grace ran out there). */
  | 'gone'
  /**
   * This node removed it for the cluster, without its member asking: its node died and it did not
   * resume in time, or it was detached and a joiner needed its place. The room must hear peer_left.
   */
  | 'expired';

export interface SharedMembership {
  readonly nodeId: string;
  /** Reads a room's settings (lock, size, password) into this node's mirror of it; creates the mirror. */
  loadRoom(room: string): Promise<LiveRoom>;
  /**
   * Gives a new member a seat in the room for the whole cluster: ROOM_LOCKED (unless `admin`) and
   * ROOM_FULL are checked in one atomic step; the oldest detached seats are released first when
   * the room is full. Mirrors the room's seats; returns the ids of the released seats.
   */
  admit(room: LiveRoom, member: Member, admin: boolean, capacity: number): Promise<string[]>;
  /** A seat as Redis has it now (mirrored into the registry), if it exists. */
  seat(room: string, memberId: string): Promise<Member | undefined>;
  /** The seat of a token identity in a room, if any. */
  seatOfIdentity(room: string, identity: string): Promise<Member | undefined>;
  /** Moves a seat to this node if nobody moved it since `member.epoch`; bumps the epoch. False when it moved on. */
  claim(room: string, member: Member): Promise<boolean>;
  /** Writes a changed seat this node carries (media flags, grants, detached); ignored if it moved on. */
  save(room: string, member: Member): void;
  /** Removes a seat if its epoch is still `epoch` (any epoch when undefined). True when this call removed it. */
  remove(room: string, memberId: string, epoch: number | undefined): Promise<boolean>;
  /** Whether a member holds a seat in the room (for targets this node's mirror does not know yet). */
  isMember(room: string, memberId: string): Promise<boolean>;
  /** Writes a room's settings (after room_control) and tells the other nodes. */
  saveSettings(room: LiveRoom): void;
  /** Remembers that a session was ended on purpose, for `forMs`, for every node. */
  markEnded(memberId: string, reason: string, forMs: number): void;
  endedReason(memberId: string): Promise<string | undefined>;
  /** Called when a seat left the cluster without this node's `remove` (see SeatRemoval). */
  onRemoved(listener: (room: string, member: Member, how: SeatRemoval) => void): void;
}
