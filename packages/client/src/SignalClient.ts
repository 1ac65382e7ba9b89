import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import * as z from 'zod';
import {
  ackSchema,
  appendResultSchema,
  historyResultSchema,
  iceServersResultSchema,
  joinResultSchema,
  ParleyError,
  SERVER_EVENT_SCHEMAS,
  sfuPublishResultSchema,
  sfuSubscribeResultSchema,
  sfuDataResultSchema,
  type SfuDataResult,
  type GrantsChanged,
  type MuteNotice,
  type AnswerRelay,
  type AppendResult,
  type CandidateRelay,
  type CandidateRequest,
  type ChatEntry,
  type ClientToServerEvents,
  type EventEntry,
  type FileEntry,
  type HistoryRequest,
  type HistoryResult,
  type IceServersResult,
  type JoinRequest,
  type JoinResult,
  type MediaSource,
  type OfferRelay,
  type PeerJoined,
  type PeerLeft,
  type PeerMedia,
  type MediaFlags,
  type ServerToClientEvents,
  type ServerEventName,
  type ServerEventPayload,
  type SessionEnded,
  type SfuMode,
  type SfuProducerClosed,
  type SfuSpeakers,
  type SfuProducerInfo,
  type SfuPublishResult,
  type SfuSubscribeResult,
} from '@parley-rtc/protocol';
import { recordingStateSchema, type RecordingState } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';

type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type TimedSocket = ReturnType<ParleySocket['timeout']>;

/** The protocol's server event schemas, typed per event so a generic event name finds its payload's schema. */
const serverEventSchemas: { readonly [E in ServerEventName]: z.ZodType<ServerEventPayload<E>> } = SERVER_EVENT_SCHEMAS;
const nullAck = ackSchema(z.null());
const joinAck = ackSchema(joinResultSchema);
const appendAck = ackSchema(appendResultSchema);
const historyAck = ackSchema(historyResultSchema);
const iceServersAck = ackSchema(iceServersResultSchema);
const sfuPublishAck = ackSchema(sfuPublishResultSchema);
const sfuSubscribeAck = ackSchema(sfuSubscribeResultSchema);
const recordingAck = ackSchema(recordingStateSchema);
const sfuDataAck = ackSchema(sfuDataResultSchema);

export interface SignalClientEvents {
  /** The socket is connected; `reconnect` is true for every connection after the first. */
  connect: [reconnect: boolean];
  /** The socket dropped. `willReconnect` is false when the server or `close()` ended it for good. */
  disconnect: [reason: string, willReconnect: boolean];
  connectError: [error: Error];
  peerJoined: [peer: PeerJoined];
  peerLeft: [peer: PeerLeft];
  peerMedia: [msg: PeerMedia];
  offer: [msg: OfferRelay];
  answer: [msg: AnswerRelay];
  candidate: [msg: CandidateRelay];
  chat: [entry: ChatEntry];
  roomEvent: [entry: EventEntry | FileEntry];
  sessionEnded: [msg: SessionEnded];
  sfuMode: [msg: SfuMode];
  sfuProducer: [msg: SfuProducerInfo];
  sfuProducerClosed: [msg: SfuProducerClosed];
  sfuSpeakers: [msg: SfuSpeakers];
  /** An admin or the server asks us to stop sending a kind of media. */
  muteRequested: [msg: MuteNotice];
  /** The server API changed our grants. */
  grantsChanged: [msg: GrantsChanged];
  /** The room's recording indicator. */
  recordingState: [msg: RecordingState];
  /** A server message failed its schema and was dropped. */
  invalidMessage: [event: string, error: z.ZodError];
}

export interface SignalClientOptions {
  /** Deadline for every acknowledged request, in ms. */
  ackTimeoutMs?: number;
  /** Extra socket.io-client options (path, transports, reconnection delays…). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * The Socket.IO connection to a Parley server, typed with the protocol's event maps. Every request
 * waits for its ack with a deadline and validates it with the protocol schema; every server event
 * is validated before it is re-emitted. Nothing from the network is trusted by type alone.
 */
export class SignalClient extends Emitter<SignalClientEvents> {
  readonly #socket: ParleySocket;
  readonly #ackTimeoutMs: number;
  #connectedOnce = false;
  #closed = false;

  constructor(url: string, options: SignalClientOptions = {}) {
    super();
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#socket = io(url, {
      transports: ['websocket', 'polling'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      ...options.socket,
      autoConnect: false,
      forceNew: true,
    });
    this.#bind();
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  /** The socket id, which the server uses as this client's peer id. */
  get id(): string | undefined {
    return this.#socket.id;
  }

  /** Connects (socket.io then keeps reconnecting on its own) and resolves on the first connect. */
  connect(timeoutMs = this.#ackTimeoutMs): Promise<void> {
    if (this.#closed) return Promise.reject(new ClientError('closed', 'the signal client is closed'));
    if (this.#socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        offConnect();
        offError();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new ClientError('timeout', `could not connect within ${timeoutMs} ms`)), timeoutMs);
      const offConnect = this.on('connect', () => done());
      const offError = this.on('connectError', (err) => {
        // socket.io retries by itself; only a refusal it will not retry ends the attempt.
        if (!this.#socket.active) done(new ClientError('disconnected', err.message, { cause: err }));
      });
      this.#socket.connect();
    });
  }

  join(req: JoinRequest): Promise<JoinResult> {
    return this.#request('join', (s) => s.emitWithAck('join', req), joinAck);
  }

  leave(): Promise<null> {
    return this.#request('leave', (s) => s.emitWithAck('leave', {}), nullAck);
  }

  offer(to: string, sdp: string): Promise<null> {
    return this.#request('offer', (s) => s.emitWithAck('offer', { to, description: { type: 'offer', sdp } }), nullAck);
  }

  answer(to: string, sdp: string): Promise<null> {
    return this.#request('answer', (s) => s.emitWithAck('answer', { to, description: { type: 'answer', sdp } }), nullAck);
  }

  candidate(to: string, candidate: CandidateRequest['candidate']): Promise<null> {
    return this.#request('candidate', (s) => s.emitWithAck('candidate', { to, candidate }), nullAck);
  }

  chat(text: string, id?: string): Promise<AppendResult> {
    const req = id === undefined ? { text } : { text, id };
    return this.#request('chat_message', (s) => s.emitWithAck('chat_message', req), appendAck);
  }

  roomEvent(type: string, body: unknown): Promise<AppendResult> {
    return this.#request('room_event', (s) => s.emitWithAck('room_event', { type, body }), appendAck);
  }

  history(req: HistoryRequest = {}): Promise<HistoryResult> {
    return this.#request('history', (s) => s.emitWithAck('history', req), historyAck);
  }

  /** Fresh ICE servers (TURN credentials); a newer `token` of the same identity may extend them. */
  iceServers(token?: string): Promise<IceServersResult> {
    const req = token !== undefined ? { token } : {};
    return this.#request('ice_servers', (s) => s.emitWithAck('ice_servers', req), iceServersAck);
  }

  /** Publishes the offer's tracks through the SFU; `source` labels every one of them. */
  sfuPublish(sdp: string, source?: MediaSource): Promise<SfuPublishResult> {
    const req = source ? { sdp, source } : { sdp };
    return this.#request('sfu_publish', (s) => s.emitWithAck('sfu_publish', req), sfuPublishAck);
  }

  sfuSubscribe(sdp: string, producerIds: string[]): Promise<SfuSubscribeResult> {
    return this.#request('sfu_subscribe', (s) => s.emitWithAck('sfu_subscribe', { sdp, producerIds }), sfuSubscribeAck);
  }

  sfuData(sdp: string): Promise<SfuDataResult> {
    return this.#request('sfu_data', (s) => s.emitWithAck('sfu_data', { sdp }), sfuDataAck);
  }

  mediaState(flags: MediaFlags): Promise<null> {
    return this.#request('media_state', (s) => s.emitWithAck('media_state', flags), nullAck);
  }

  sfuPause(consumerIds: string[], paused: boolean): Promise<null> {
    return this.#request('sfu_pause', (s) => s.emitWithAck('sfu_pause', { consumerIds, paused }), nullAck);
  }

  /** How large we show these video consumers, in device pixels (0×0: no preference). */
  sfuVideoSize(consumerIds: string[], width: number, height: number): Promise<null> {
    return this.#request('sfu_video_size', (s) => s.emitWithAck('sfu_video_size', { consumerIds, width, height }), nullAck);
  }

  sfuClose(connectionId: string): Promise<null> {
    return this.#request('sfu_close', (s) => s.emitWithAck('sfu_close', { connectionId }), nullAck);
  }

  recordingStart(): Promise<RecordingState> {
    return this.#request('recording_start', (s) => s.emitWithAck('recording_start', {}), recordingAck);
  }

  recordingStop(): Promise<RecordingState> {
    return this.#request('recording_stop', (s) => s.emitWithAck('recording_stop', {}), recordingAck);
  }

  /** Disconnects for good and drops every listener. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.removeAllListeners();
    this.#socket.io.removeAllListeners();
    this.#socket.disconnect();
    this.removeAllListeners();
  }

  async #request<S extends ReturnType<typeof ackSchema>>(
    event: keyof ClientToServerEvents,
    send: (socket: TimedSocket) => Promise<unknown>,
    schema: S,
  ): Promise<Extract<z.infer<S>, { ok: true }>['data']> {
    if (this.#closed) throw new ClientError('closed', 'the signal client is closed');
    // While disconnected socket.io would buffer the emit and send it after reconnecting, when the
    // room, our peer id and the targets may all have changed. Fail fast instead.
    if (!this.#socket.connected) throw new ClientError('disconnected', `cannot send ${event}: not connected`);
    let raw: unknown;
    try {
      raw = await send(this.#socket.timeout(this.#ackTimeoutMs));
    } catch (err) {
      if (this.#closed) throw new ClientError('closed', `${event}: the signal client was closed`, { cause: err });
      throw new ClientError('timeout', `${event}: no answer within ${this.#ackTimeoutMs} ms`, { cause: err });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new ClientError('invalid-response', `${event}: the server's answer does not match the protocol`, {
        cause: parsed.error,
      });
    }
    const ack = parsed.data;
    if (!ack.ok) throw ParleyError.fromWire(ack.error);
    return ack.data;
  }

  #bind(): void {
    const s = this.#socket;
    s.on('connect', () => {
      const reconnect = this.#connectedOnce;
      this.#connectedOnce = true;
      this.emit('connect', reconnect);
    });
    s.on('disconnect', (reason) => this.emit('disconnect', reason, s.active && !this.#closed));
    s.on('connect_error', (err) => this.emit('connectError', err));

    /** Parses a server event with its protocol schema; passes it on, or reports and drops it. */
    const accept = <E extends ServerEventName>(event: E, payload: unknown, fn: (value: ServerEventPayload<E>) => void) => {
      const parsed = serverEventSchemas[event].safeParse(payload);
      if (parsed.success) fn(parsed.data);
      else this.emit('invalidMessage', event, parsed.error);
    };
    s.on('peer_joined', (p) => accept('peer_joined', p, (v) => this.emit('peerJoined', v)));
    s.on('peer_left', (p) => accept('peer_left', p, (v) => this.emit('peerLeft', v)));
    s.on('peer_media', (p) => accept('peer_media', p, (v) => this.emit('peerMedia', v)));
    s.on('offer', (p) => accept('offer', p, (v) => this.emit('offer', v)));
    s.on('answer', (p) => accept('answer', p, (v) => this.emit('answer', v)));
    s.on('candidate', (p) => accept('candidate', p, (v) => this.emit('candidate', v)));
    s.on('chat_message', (p) => accept('chat_message', p, (v) => this.emit('chat', v)));
    s.on('room_event', (p) => accept('room_event', p, (v) => this.emit('roomEvent', v)));
    s.on('session_ended', (p) => accept('session_ended', p, (v) => this.emit('sessionEnded', v)));
    s.on('sfu_mode', (p) => accept('sfu_mode', p, (v) => this.emit('sfuMode', v)));
    s.on('sfu_producer', (p) => accept('sfu_producer', p, (v) => this.emit('sfuProducer', v)));
    s.on('sfu_producer_closed', (p) => accept('sfu_producer_closed', p, (v) => this.emit('sfuProducerClosed', v)));
    s.on('sfu_speakers', (p) => accept('sfu_speakers', p, (v) => this.emit('sfuSpeakers', v)));
    s.on('mute_request', (p) => accept('mute_request', p, (v) => this.emit('muteRequested', v)));
    s.on('grants_changed', (p) => accept('grants_changed', p, (v) => this.emit('grantsChanged', v)));
    s.on('recording_state', (p) => accept('recording_state', p, (v) => this.emit('recordingState', v)));
  }
}
