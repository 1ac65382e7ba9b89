import type * as z from 'zod';
import { ParleyError } from './errors.ts';
import {
  API_PREFIX,
  apiErrorResponseSchema,
  createStreamKeyResponseSchema,
  listStreamKeysResponseSchema,
  deleteRecordingResponseSchema,
  deleteRoomResponseSchema,
  listRoomRecordingsResponseSchema,
  listMembersResponseSchema,
  listRoomsResponseSchema,
  memberViewSchema,
  mintTokenResponseSchema,
  okResponseSchema,
  roomDetailSchema,
  roomRecordingSchema,
  roomSummarySchema,
  sendMessageResponseSchema,
  type CreateRoomRequest,
  type CreateStreamKeyRequest,
  type StreamKeyView,
  type MemberView,
  type MintTokenRequest,
  type RoomDetail,
  type RoomRecording,
  type RoomSettings,
  type RoomSummary,
  type SendMessageRequest,
  type UpdateMemberRequest,
} from './serverApi.ts';

export type ServerClientAuth =
  /** An API key and its secret from the server's auth.apiKeys (sent as HTTP Basic credentials). */
  | { apiKey: string; apiSecret: string }
  /** The server's adminKey, or an access token with the admin grant (that room's calls only). */
  | { bearer: string };

export type ServerClientOptions = ServerClientAuth & {
  /** The server's base URL, e.g. https://parley.example.com */
  url: string;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
};

/** The server API as typed functions; each throws a `ParleyError` carrying the server's code. */
export interface ServerClient {
  listRooms(): Promise<RoomSummary[]>;
  getRoom(room: string): Promise<RoomDetail>;
  /** Creates a managed room (kept while empty); for an existing room, applies the settings. */
  createRoom(request: CreateRoomRequest): Promise<RoomSummary>;
  updateRoom(room: string, settings: RoomSettings): Promise<RoomSummary>;
  /** Ends every member's session and deletes the room's log and files. */
  deleteRoom(room: string): Promise<{ entries: number; filesDeleted: number }>;
  listMembers(room: string): Promise<MemberView[]>;
  /** Kicks a member: its session ends at once and its credentials stop working. */
  removeMember(room: string, member: string, reason?: string): Promise<void>;
  /** Stops a member's audio, video or screen (the server stops forwarding it; the member is told). */
  muteMember(room: string, member: string, kind: 'audio' | 'video' | 'screen'): Promise<void>;
  /** Changes a member's grants while it is in the room; applies at once. */
  updateMember(room: string, member: string, update: UpdateMemberRequest): Promise<MemberView>;
  /** Stores a chat message or room event from the server in the room's log and delivers it. */
  sendMessage(room: string, message: SendMessageRequest): Promise<{ seq: number; ts: number }>;
  mintToken(request: MintTokenRequest): Promise<{ token: string; expiresAt: number }>;
  /** Mints a stream key for WHIP into the room (the secret `key` is only returned here). */
  createStreamKey(room: string, request?: CreateStreamKeyRequest): Promise<StreamKeyView & { key: string }>;
  listStreamKeys(room: string): Promise<StreamKeyView[]>;
  /** Revokes a stream key; a publisher that joined with it is removed from the room. */
  deleteStreamKey(room: string, id: string): Promise<void>;
  /** Starts recording a live room (the running recording if there is one). */
  startRecording(room: string): Promise<RoomRecording>;
  /** Stops a room recording; composing follows (watch `state` and `progress`). */
  stopRecording(room: string, id: string): Promise<RoomRecording>;
  getRecording(room: string, id: string): Promise<RoomRecording>;
  listRecordings(room: string): Promise<RoomRecording[]>;
  /** Deletes a recording's files (stopping it first if it runs). */
  deleteRecording(room: string, id: string): Promise<void>;
}

/** A client for the server API (docs/server-api.md). */
export function createServerClient(options: ServerClientOptions): ServerClient {
  const base = options.url.replace(/\/+$/, '') + API_PREFIX;
  const authorization = 'bearer' in options ? `Bearer ${options.bearer}` : `Basic ${btoa(`${options.apiKey}:${options.apiSecret}`)}`;
  const doFetch = options.fetch ?? fetch;
  const enc = encodeURIComponent;

  async function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    const headers: Record<string, string> = { authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ParleyError('INTERNAL', `${method} ${path}: HTTP ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const error = apiErrorResponseSchema.safeParse(json);
      if (error.success) throw ParleyError.fromWire(error.data.error);
      throw new ParleyError('INTERNAL', `${method} ${path}: HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ParleyError('INTERNAL', `${method} ${path}: unexpected response: ${parsed.error.message}`);
    return parsed.data;
  }

  return {
    listRooms: async () => (await call('GET', '/rooms', listRoomsResponseSchema)).rooms,
    getRoom: (room) => call('GET', `/rooms/${enc(room)}`, roomDetailSchema),
    createRoom: (request) => call('POST', '/rooms', roomSummarySchema, request),
    updateRoom: (room, settings) => call('PATCH', `/rooms/${enc(room)}`, roomSummarySchema, settings),
    deleteRoom: async (room) => {
      const r = await call('DELETE', `/rooms/${enc(room)}`, deleteRoomResponseSchema);
      return { entries: r.entries, filesDeleted: r.filesDeleted };
    },
    listMembers: async (room) => (await call('GET', `/rooms/${enc(room)}/members`, listMembersResponseSchema)).members,
    removeMember: async (room, member, reason) => {
      await call('DELETE', `/rooms/${enc(room)}/members/${enc(member)}`, okResponseSchema, reason === undefined ? {} : { reason });
    },
    muteMember: async (room, member, kind) => {
      await call('POST', `/rooms/${enc(room)}/members/${enc(member)}/mute`, okResponseSchema, { kind });
    },
    updateMember: (room, member, update) => call('PATCH', `/rooms/${enc(room)}/members/${enc(member)}`, memberViewSchema, update),
    sendMessage: (room, message) => call('POST', `/rooms/${enc(room)}/messages`, sendMessageResponseSchema, message),
    mintToken: (request) => call('POST', '/tokens', mintTokenResponseSchema, request),
    createStreamKey: (room, request = {}) => call('POST', `/rooms/${enc(room)}/stream-keys`, createStreamKeyResponseSchema, request),
    listStreamKeys: async (room) => (await call('GET', `/rooms/${enc(room)}/stream-keys`, listStreamKeysResponseSchema)).streamKeys,
    deleteStreamKey: async (room, id) => {
      await call('DELETE', `/rooms/${enc(room)}/stream-keys/${enc(id)}`, okResponseSchema);
    },
    startRecording: (room) => call('POST', `/rooms/${enc(room)}/recordings`, roomRecordingSchema, {}),
    stopRecording: (room, id) => call('POST', `/rooms/${enc(room)}/recordings/${enc(id)}/stop`, roomRecordingSchema, {}),
    getRecording: (room, id) => call('GET', `/rooms/${enc(room)}/recordings/${enc(id)}`, roomRecordingSchema),
    listRecordings: async (room) => (await call('GET', `/rooms/${enc(room)}/recordings`, listRoomRecordingsResponseSchema)).recordings,
    deleteRecording: async (room, id) => {
      await call('DELETE', `/rooms/${enc(room)}/recordings/${enc(id)}`, deleteRecordingResponseSchema);
    },
  };
}
