import { CHAT_DATA_TOPIC, chatDataMessageSchema, type AppendResult, type ChatDataMessage, type ChatEntry } from '@parley-rtc/protocol';
import { Emitter } from '../Emitter.ts';
import { ClientError } from '../errors.ts';

/** App data as ChatChannel reads it from the room's `data` event. */
export interface ChatDataIn {
  from: string;
  topic: string;
  payload: string | Uint8Array;
}

/** What ChatChannel needs from a Room (a `Room` is one). */
export interface ChatRoomRef {
  readonly self: { id: string; name: string } | undefined;
  readonly peers: readonly { id: string; name: string }[];
  sendChat(text: string, options?: { id?: string }): Promise<AppendResult>;
  sendData(payload: string | Uint8Array, options?: { reliable?: boolean; to?: string[]; topic?: string }): Promise<void>;
  dataPathOpen(memberId?: string): boolean;
  on(event: 'data', fn: (message: ChatDataIn) => void): () => void;
  on(event: 'chat', fn: (entry: ChatEntry) => void): () => void;
}

/** A chat message seen over the data channel (or sent by us) whose log copy has not arrived yet. */
export interface PendingChat {
  id: string;
  from: { id: string; name: string };
  text: string;
  /** When we saw it (local clock): the log assigns the real `ts` and `seq`. */
  ts: number;
}

export interface ChatChannelStats {
  /** Messages we sent over the data channel (to at least one member). */
  sentOverData: number;
  /** Messages we sent only through signaling (no data path open to anyone). */
  sentOverSignaling: number;
  /** Messages that reached us over the data channel before their log copy. */
  receivedOverData: number;
  /** Data-channel copies dropped because their log copy was already here (or repeated). */
  duplicates: number;
  /** Data-channel messages that did not parse. */
  invalid: number;
}

export interface ChatChannelOptions {
  /** Send over the data channel too (default true); false: signaling only, as before. */
  useDataPath?: boolean;
  /** A data copy whose log copy has not come after this long is dropped (default 60 s). */
  pendingTimeoutMs?: number;
}

export interface ChatChannelEvents {
  /** `pending` changed: a message arrived over the data channel, or its log copy replaced it. */
  pending: [pending: readonly PendingChat[]];
}

const SEEN_LIMIT = 10_000;

function newMessageId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/**
 * Chat on the data path with the room log still complete (docs/client.md, "Chat over the data
 * channel"). `send()` puts a message on the reliable data channel to every member whose path is
 * open (they show it at once, in `pending`) and appends it to the room log through signaling
 * with the same id, whatever the mode: the log stays the one complete, ordered history that late
 * joiners and resumed clients read. When the log copy arrives (`room.on('chat')`, with its `seq`)
 * the pending copy is dropped, so each message shows once. With no open data path, chat simply
 * goes through signaling. Receivers match copies by (sender member id, message id); `from` of a
 * data message is set by the data path (the link or the server), never by the sender's payload.
 */
export class ChatChannel extends Emitter<ChatChannelEvents> {
  readonly #room: ChatRoomRef;
  readonly #useData: boolean;
  readonly #timeoutMs: number;
  /** Pending copies by `${from} ${id}`. */
  readonly #pending = new Map<string, PendingChat>();
  /** Keys whose log copy we have (insertion-ordered, trimmed to SEEN_LIMIT). */
  readonly #logged = new Set<string>();
  /** Keys of log entries that reached us over the data channel first. */
  readonly #viaData = new Set<string>();
  readonly #stats: ChatChannelStats = { sentOverData: 0, sentOverSignaling: 0, receivedOverData: 0, duplicates: 0, invalid: 0 };
  readonly #unsubscribe: Array<() => void>;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(room: ChatRoomRef, options: ChatChannelOptions = {}) {
    super();
    this.#room = room;
    this.#useData = options.useDataPath !== false;
    this.#timeoutMs = options.pendingTimeoutMs ?? 60_000;
    this.#unsubscribe = [room.on('data', (m) => this.#onData(m)), room.on('chat', (e) => this.#onEntry(e))];
  }

  /** Messages shown before their log copy, oldest first. */
  get pending(): readonly PendingChat[] {
    return [...this.#pending.values()];
  }

  get stats(): Readonly<ChatChannelStats> {
    return { ...this.#stats };
  }

  /** Whether a logged chat message reached us over the data channel before its log copy. */
  arrivedOverData(entry: ChatEntry): boolean {
    return entry.id !== undefined && this.#viaData.has(`${entry.from.id} ${entry.id}`);
  }

  /**
   * Sends a chat message: over the data channel where open, and to the room log (resolves with
   * its seq once stored). Rejects like `room.sendChat` (the data copy is then retracted).
   */
  async send(text: string): Promise<AppendResult> {
    if (this.#closed) throw new ClientError('closed', 'the chat channel is closed');
    const self = this.#room.self;
    if (!self) throw new ClientError('disconnected', 'not in a room');
    const value = text.trim();
    const id = newMessageId();
    const key = `${self.id} ${id}`;
    const to = this.#useData ? this.#room.peers.map((p) => p.id).filter((p) => this.#room.dataPathOpen(p)) : [];
    this.#addPending(key, { id, from: { id: self.id, name: self.name }, text: value, ts: Date.now() });
    if (to.length > 0) {
      this.#stats.sentOverData++;
      // Best effort: the log copy reaches everyone anyway.
      this.#sendData({ type: 'chat', id, text: value }, to);
    } else {
      this.#stats.sentOverSignaling++;
    }
    try {
      return await this.#room.sendChat(value, { id });
    } catch (err) {
      if (this.#pending.delete(key)) this.emit('pending', this.pending);
      if (to.length > 0) this.#sendData({ type: 'retract', id }, to);
      throw err;
    }
  }

  /** Stops listening and forgets pending copies. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#pending.clear();
    this.removeAllListeners();
  }

  #sendData(message: ChatDataMessage, to: string[]): void {
    this.#room.sendData(JSON.stringify(message), { topic: CHAT_DATA_TOPIC, reliable: true, to }).catch(() => undefined);
  }

  #onData(message: ChatDataIn): void {
    if (message.topic !== CHAT_DATA_TOPIC || typeof message.payload !== 'string') return;
    let parsed: ChatDataMessage;
    try {
      const result = chatDataMessageSchema.safeParse(JSON.parse(message.payload));
      if (!result.success) throw result.error;
      parsed = result.data;
    } catch {
      this.#stats.invalid++;
      return;
    }
    const key = `${message.from} ${parsed.id}`;
    if (parsed.type === 'retract') {
      if (this.#pending.delete(key)) this.emit('pending', this.pending);
      return;
    }
    if (this.#logged.has(key) || this.#pending.has(key)) {
      this.#stats.duplicates++;
      return;
    }
    this.#stats.receivedOverData++;
    this.#viaData.add(key);
    const name = this.#room.peers.find((p) => p.id === message.from)?.name ?? '';
    this.#addPending(key, { id: parsed.id, from: { id: message.from, name }, text: parsed.text, ts: Date.now() });
  }

  #onEntry(entry: ChatEntry): void {
    if (entry.id === undefined) return;
    const key = `${entry.from.id} ${entry.id}`;
    this.#logged.add(key);
    if (this.#logged.size > SEEN_LIMIT) this.#trim();
    if (this.#pending.delete(key)) this.emit('pending', this.pending);
  }

  #addPending(key: string, message: PendingChat): void {
    this.#pending.set(key, message);
    this.#sweep ??= setInterval(() => this.#expire(), Math.max(1000, this.#timeoutMs / 4));
    this.emit('pending', this.pending);
  }

  /** Drops copies whose log copy never came (e.g. the sender vanished before appending). */
  #expire(): void {
    const cutoff = Date.now() - this.#timeoutMs;
    let changed = false;
    for (const [key, m] of this.#pending) {
      if (m.ts < cutoff) changed = this.#pending.delete(key) || changed;
    }
    if (this.#pending.size === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
    if (changed) this.emit('pending', this.pending);
  }

  #trim(): void {
    for (const set of [this.#logged, this.#viaData]) {
      for (const key of set) {
        if (set.size <= SEEN_LIMIT / 2) break;
        set.delete(key);
      }
    }
  }
}
