import type { Ack } from './errors.ts';
import type {
  AppendResult,
  ChatEntry,
  ChatRequest,
  EventEntry,
  FileEntry,
  HistoryRequest,
  HistoryResult,
  RoomEventRequest,
} from './messages/log.ts';
import type {
  IceServersRequest,
  IceServersResult,
  JoinRequest,
  JoinResult,
  MediaFlags,
  PeerJoined,
  PeerLeft,
  PeerMedia,
  SessionEnded,
} from './messages/room.ts';
import type { AnswerRelay, AnswerRequest, CandidateRelay, CandidateRequest, OfferRelay, OfferRequest } from './messages/signal.ts';
import {
  iceServersRequestSchema,
  joinRequestSchema,
  mediaFlagsSchema,
  peerJoinedSchema,
  peerLeftSchema,
  peerMediaSchema,
  sessionEndedSchema,
} from './messages/room.ts';
import {
  answerRelaySchema,
  answerRequestSchema,
  candidateRelaySchema,
  candidateRequestSchema,
  offerRelaySchema,
  offerRequestSchema,
} from './messages/signal.ts';
import { chatEntrySchema, chatRequestSchema, historyRequestSchema, roomEventEntrySchema, roomEventRequestSchema } from './messages/log.ts';
import * as z from 'zod';
import { recordingControlRequestSchema, recordingStateSchema, type RecordingState } from './messages/recording.ts';
import type { GrantsChanged, KickRequest, MuteNotice, MuteRequest, RoomControlRequest, RoomState } from './messages/control.ts';
import {
  grantsChangedSchema,
  kickRequestSchema,
  muteNoticeSchema,
  muteRequestSchema,
  roomControlRequestSchema,
  roomStateSchema,
} from './messages/control.ts';
import type {
  SfuCloseRequest,
  SfuDataRequest,
  SfuDataResult,
  SfuMode,
  SfuPauseRequest,
  SfuProducerClosed,
  SfuProducerInfo,
  SfuPublishRequest,
  SfuPublishResult,
  SfuSpeakers,
  SfuSubscribeRequest,
  SfuSubscribeResult,
  SfuVideoSizeRequest,
} from './messages/sfu.ts';
import {
  sfuCloseRequestSchema,
  sfuDataRequestSchema,
  sfuModeSchema,
  sfuPauseRequestSchema,
  sfuProducerClosedSchema,
  sfuProducerInfoSchema,
  sfuPublishRequestSchema,
  sfuSpeakersSchema,
  sfuSubscribeRequestSchema,
  sfuVideoSizeRequestSchema,
} from './messages/sfu.ts';

type AckFn<T> = (res: Ack<T>) => void;

/** Events a client emits. Every one takes a payload and an acknowledgement callback. */
export interface ClientToServerEvents {
  join: (req: JoinRequest, ack: AckFn<JoinResult>) => void;
  leave: (req: Record<string, never>, ack: AckFn<null>) => void;
  offer: (req: OfferRequest, ack: AckFn<null>) => void;
  answer: (req: AnswerRequest, ack: AckFn<null>) => void;
  candidate: (req: CandidateRequest, ack: AckFn<null>) => void;
  chat_message: (req: ChatRequest, ack: AckFn<AppendResult>) => void;
  room_event: (req: RoomEventRequest, ack: AckFn<AppendResult>) => void;
  history: (req: HistoryRequest, ack: AckFn<HistoryResult>) => void;
  /** Admin only: lock/unlock, password, participant limit. */
  room_control: (req: RoomControlRequest, ack: AckFn<RoomState>) => void;
  /** Admin only: remove a peer from the room. */
  kick: (req: KickRequest, ack: AckFn<null>) => void;
  /** Admin only: ask a peer to stop sending a kind of media. */
  mute: (req: MuteRequest, ack: AckFn<null>) => void;
  /** Your media flags (mic, camera, screen on/off), relayed to the room as `peer_media`. */
  media_state: (req: MediaFlags, ack: AckFn<null>) => void;
  /** Publish through the room's SFU (needs the publish grant). */
  sfu_publish: (req: SfuPublishRequest, ack: AckFn<SfuPublishResult>) => void;
  /** Receive SFU producers of the room. */
  sfu_subscribe: (req: SfuSubscribeRequest, ack: AckFn<SfuSubscribeResult>) => void;
  /** Open (or replace) your data connection to the SFU (app data, `room.sendData`). */
  sfu_data: (req: SfuDataRequest, ack: AckFn<SfuDataResult>) => void;
  /** Close one of your SFU connections. */
  sfu_close: (req: SfuCloseRequest, ack: AckFn<null>) => void;
  /** Pause/resume forwarding of some of your SFU consumers. */
  sfu_pause: (req: SfuPauseRequest, ack: AckFn<null>) => void;
  /** How large you show some of your SFU video consumers (simulcast layer choice). */
  sfu_video_size: (req: SfuVideoSizeRequest, ack: AckFn<null>) => void;
  /** Fresh ICE servers (TURN credentials), e.g. before the ones from the join expire. */
  ice_servers: (req: IceServersRequest, ack: AckFn<IceServersResult>) => void;
  /** Start recording the room (needs the record grant); acks with the indicator state. */
  recording_start: (req: Record<string, never>, ack: AckFn<RecordingState>) => void;
  /** Stop the room's recording (needs the record grant). */
  recording_stop: (req: Record<string, never>, ack: AckFn<RecordingState>) => void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  peer_joined: (peer: PeerJoined) => void;
  peer_left: (peer: PeerLeft) => void;
  offer: (msg: OfferRelay) => void;
  answer: (msg: AnswerRelay) => void;
  candidate: (msg: CandidateRelay) => void;
  chat_message: (entry: ChatEntry) => void;
  room_event: (entry: EventEntry | FileEntry) => void;
  session_ended: (msg: SessionEnded) => void;
  room_state: (state: RoomState) => void;
  mute_request: (msg: MuteNotice) => void;
  /** Your grants changed while you are in the room (server API); what they are now. */
  grants_changed: (msg: GrantsChanged) => void;
  /** A member's media flags (on change, and for every member right after a join or resume). */
  peer_media: (msg: PeerMedia) => void;
  /** A room member published a track through the SFU (also sent for existing ones on join). */
  sfu_producer: (msg: SfuProducerInfo) => void;
  sfu_producer_closed: (msg: SfuProducerClosed) => void;
  /** The room's media mode (sent on join and whenever it changes). */
  sfu_mode: (msg: SfuMode) => void;
  /** Who speaks (SFU rooms, from publishers' audio levels). */
  sfu_speakers: (msg: SfuSpeakers) => void;
  /** The room's recording indicator (on start/stop, and to each member on join while recording). */
  recording_state: (msg: RecordingState) => void;
}

/** The request schema of every client event: what the server parses before it acts. */
export const CLIENT_EVENT_SCHEMAS = {
  join: joinRequestSchema,
  leave: z.object({}),
  offer: offerRequestSchema,
  answer: answerRequestSchema,
  candidate: candidateRequestSchema,
  chat_message: chatRequestSchema,
  room_event: roomEventRequestSchema,
  history: historyRequestSchema,
  room_control: roomControlRequestSchema,
  kick: kickRequestSchema,
  mute: muteRequestSchema,
  media_state: mediaFlagsSchema,
  sfu_publish: sfuPublishRequestSchema,
  sfu_subscribe: sfuSubscribeRequestSchema,
  sfu_close: sfuCloseRequestSchema,
  sfu_data: sfuDataRequestSchema,
  sfu_pause: sfuPauseRequestSchema,
  sfu_video_size: sfuVideoSizeRequestSchema,
  ice_servers: iceServersRequestSchema,
  recording_start: recordingControlRequestSchema,
  recording_stop: recordingControlRequestSchema,
} as const satisfies { [K in keyof ClientToServerEvents]: z.ZodType };

export type ClientEventName = keyof typeof CLIENT_EVENT_SCHEMAS;
export const CLIENT_EVENT_NAMES = Object.keys(CLIENT_EVENT_SCHEMAS) as ClientEventName[];

/** The payload of a server event. */
export type ServerEventPayload<K extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[K]>[0];

/**
 * The payload schema of every server event: what a client parses before it trusts a message. Each
 * schema's output must be exactly the payload type of `ServerToClientEvents`.
 */
export const SERVER_EVENT_SCHEMAS = {
  peer_joined: peerJoinedSchema,
  peer_left: peerLeftSchema,
  offer: offerRelaySchema,
  answer: answerRelaySchema,
  candidate: candidateRelaySchema,
  chat_message: chatEntrySchema,
  room_event: roomEventEntrySchema,
  session_ended: sessionEndedSchema,
  room_state: roomStateSchema,
  mute_request: muteNoticeSchema,
  grants_changed: grantsChangedSchema,
  peer_media: peerMediaSchema,
  sfu_producer: sfuProducerInfoSchema,
  sfu_producer_closed: sfuProducerClosedSchema,
  sfu_mode: sfuModeSchema,
  sfu_speakers: sfuSpeakersSchema,
  recording_state: recordingStateSchema,
} as const satisfies { [K in keyof ServerToClientEvents]: z.ZodType<ServerEventPayload<K>> };

export type ServerEventName = keyof typeof SERVER_EVENT_SCHEMAS;
export const SERVER_EVENT_NAMES = Object.keys(SERVER_EVENT_SCHEMAS) as ServerEventName[];
