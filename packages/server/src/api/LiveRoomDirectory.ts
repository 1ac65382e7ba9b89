import { ParleyError } from '@parley-rtc/protocol';
import type {
  CreateRoomRequest,
  MemberView,
  RoomSettings,
  RoomSummary,
  SendMessageRequest,
  UpdateMemberRequest,
} from '@parley-rtc/protocol/serverApi';
import { grantsSchema, type Grants } from '../auth/grants.ts';
import type { LogStore } from '../roomlog/LogStore.ts';
import type { RoomLogService } from '../roomlog/feature.ts';
import type { LiveRoom, Member } from '../signaling/RoomRegistry.ts';
import type { Signaling } from '../signaling/Signaling.ts';
import type { SfuRooms } from '../sfu/SfuRooms.ts';
import type { Logger } from '../util/logger.ts';
import type { RoomDirectory } from './RoomDirectory.ts';

export interface LiveRoomDirectoryDeps {
  signaling: Signaling;
  store: LogStore;
  roomLog: RoomLogService;
  /** limits.maxPeersPerRoom, the cap on a room's maxMembers. */
  maxPeersPerRoom: number;
  /** A room's media path and mesh limit, as the SFU sees them. */
  sfu: Pick<SfuRooms, 'mediaOf'>;
  log: Logger;
}

/** Who the server API's messages and mute requests are from. */
export const SERVER_SENDER = { id: 'server', name: 'server' } as const;

/** The server API's view of this node's rooms: the signaling registry plus the room log. */
export class LiveRoomDirectory implements RoomDirectory {
  readonly #d: LiveRoomDirectoryDeps;

  constructor(deps: LiveRoomDirectoryDeps) {
    this.#d = deps;
  }

  get #registry() {
    return this.#d.signaling.registry;
  }

  async list(): Promise<RoomSummary[]> {
    return Promise.all([...this.#registry.rooms()].map((room) => this.#summary(room)));
  }

  async get(name: string) {
    const room = this.#registry.room(name);
    if (!room) return undefined;
    return { ...(await this.#summary(room)), memberList: [...room.members.values()].map(memberView) };
  }

  async create(request: CreateRoomRequest): Promise<{ room: RoomSummary; created: boolean }> {
    const { room, created } = this.#registry.create(request.name);
    this.#apply(room, request);
    this.#d.log.info({ room: room.name, created }, created ? 'room created by the server API' : 'room settings changed by the server API');
    return { room: await this.#summary(room), created };
  }

  async update(name: string, settings: RoomSettings): Promise<RoomSummary | undefined> {
    const room = this.#registry.room(name);
    if (!room) return undefined;
    this.#apply(room, settings);
    return this.#summary(room);
  }

  async delete(name: string) {
    return this.#d.roomLog.deleteRoom(name);
  }

  members(name: string): MemberView[] | undefined {
    const room = this.#registry.room(name);
    return room ? [...room.members.values()].map(memberView) : undefined;
  }

  removeMember(name: string, memberId: string, reason: string | undefined): boolean {
    if (!this.#registry.room(name)?.members.has(memberId)) return false;
    this.#d.log.info({ room: name, memberId }, 'member removed by the server API');
    return this.#d.signaling.endSession(memberId, 'kicked', reason ?? 'removed by the server');
  }

  muteMember(name: string, memberId: string, kind: 'audio' | 'video' | 'screen'): boolean {
    if (!this.#registry.room(name)?.members.has(memberId)) return false;
    return this.#d.signaling.requestMute(memberId, kind, SERVER_SENDER.id);
  }

  updateMember(name: string, memberId: string, update: UpdateMemberRequest): MemberView | undefined {
    const member = this.#registry.room(name)?.members.get(memberId);
    if (!member) return undefined;
    this.#d.signaling.updateGrants(memberId, mergeGrants(member.grants, update.grants));
    return memberView(member);
  }

  async send(name: string, message: SendMessageRequest): Promise<{ seq: number; ts: number } | undefined> {
    if (!this.#registry.room(name) && !(await this.#d.store.stats(name))) return undefined;
    const entry =
      message.kind === 'chat'
        ? await this.#d.signaling.publish(name, { kind: 'chat', from: SERVER_SENDER, text: message.text })
        : await this.#d.signaling.publish(name, { kind: 'event', from: SERVER_SENDER, type: message.type, body: message.body });
    return { seq: entry.seq, ts: entry.ts };
  }

  #apply(room: LiveRoom, settings: RoomSettings): void {
    if (settings.maxMembers !== undefined) room.maxParticipants = Math.min(settings.maxMembers, this.#d.maxPeersPerRoom);
    if (settings.meshLimit !== undefined) {
      room.meshLimit = settings.meshLimit;
      this.#d.signaling.roomSettingsChanged(room.name);
    }
    if (settings.password !== undefined) room.setPassword(settings.password);
    if (settings.locked !== undefined) room.locked = settings.locked;
    if (settings.retention !== undefined) this.#d.roomLog.setRetention(room.name, settings.retention);
    if (settings.maxMembers !== undefined || settings.password !== undefined || settings.locked !== undefined) {
      this.#d.signaling.emitTo(room.name, 'room_state', room.state);
    }
  }

  async #summary(room: LiveRoom): Promise<RoomSummary> {
    const stats = await this.#d.store.stats(room.name);
    const { mode, meshLimit } = this.#d.sfu.mediaOf(room.name);
    return {
      name: room.name,
      members: room.members.size,
      mode,
      createdAt: room.createdAt,
      locked: room.locked,
      hasPassword: room.state.hasPassword,
      maxMembers: room.maxParticipants,
      meshLimit,
      managed: room.managed,
      log: { entries: stats?.messages ?? 0, bytes: stats?.bytes ?? 0, lastSeq: stats?.lastSeq ?? 0 },
    };
  }
}

function memberView(m: Member): MemberView {
  return {
    id: m.id,
    name: m.name,
    identity: m.identity,
    joinedAt: m.joinedAt,
    connected: m.socketId !== undefined || (m.node !== undefined && m.detachedAt === undefined),
    grants: m.grants,
    ...(m.media ? { media: m.media } : {}),
  };
}

function mergeGrants(current: Grants, change: Partial<Record<keyof Grants, unknown>>): Grants {
  const merged = grantsSchema.safeParse({ ...current, ...change });
  if (!merged.success) throw new ParleyError('INVALID_PAYLOAD', `grants: ${merged.error.issues[0]?.message ?? 'invalid'}`);
  return merged.data;
}
