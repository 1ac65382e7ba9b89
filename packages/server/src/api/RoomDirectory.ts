import type {
  CreateRoomRequest,
  MemberView,
  RoomDetail,
  RoomSettings,
  RoomSummary,
  SendMessageRequest,
  UpdateMemberRequest,
} from '@parley-rtc/protocol/serverApi';

/**
 * What the server API needs from the rest of the server: rooms as a backend sees them. Methods
 * return undefined/false for an unknown room or member; the routes turn that into 404s.
 */
export interface RoomDirectory {
  list(): Promise<RoomSummary[]>;
  get(room: string): Promise<RoomDetail | undefined>;
  /** Creates a managed room, or applies the settings to an existing one (`created: false`). */
  create(request: CreateRoomRequest): Promise<{ room: RoomSummary; created: boolean }>;
  update(room: string, settings: RoomSettings): Promise<RoomSummary | undefined>;
  delete(room: string): Promise<{ entries: number; filesDeleted: number } | undefined>;
  members(room: string): MemberView[] | undefined;
  removeMember(room: string, member: string, reason: string | undefined): boolean;
  muteMember(room: string, member: string, kind: 'audio' | 'video' | 'screen'): boolean;
  updateMember(room: string, member: string, update: UpdateMemberRequest): MemberView | undefined;
  /** Undefined for a room that is neither live nor has a log. */
  send(room: string, message: SendMessageRequest): Promise<{ seq: number; ts: number } | undefined>;
}
