/** The Router's options, events, infos and stats (the Router itself is in Router.ts). */
import type { MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import type { Logger } from '../util/logger.ts';
import type { ActiveSpeakerOptions, SpeakerLevel } from './ActiveSpeaker.ts';
import type { ConsumerCloseReason, ConnectionCloseReason, ProducerCloseReason, RouterCloseReason } from './closeReasons.ts';
import type { BitrateLimits, Producer } from './Producer.ts';
import type { Simulcast } from './Simulcast.ts';

/** What a publisher's section became: one stream, or a simulcast set of layers. */
export type Publication = Producer | Simulcast;

export interface RouterLimits {
  /** Producers in the room (default 32). */
  maxProducers: number;
  /** Consumers in the room (default 2000). */
  maxConsumers: number;
  /** Producers one subscribe request may ask for (default 16). */
  maxConsumersPerConnection: number;
}

export interface RouterOptions {
  id: string;
  /** MediaPeer options (ICE servers from config, bind address, port range) for one SFU connection. */
  connectionOptions: (connectionId: string) => MediaPeerOptions;
  /** Where closings are logged (info) with their reasons; silent without. */
  log?: Logger;
  limits?: Partial<RouterLimits>;
  /** Timings (tests shorten them). */
  connectTimeoutMs?: number;
  disconnectGraceMs?: number;
  senderReportIntervalMs?: number;
  keyFrameIntervalMs?: number;
  /** Bitrate bounds for REMB to video publishers (default 150 kbit/s – 2.5 Mbit/s). */
  publishBitrate?: Partial<BitrateLimits>;
  /** Active-speaker detection (levels from the publishers' RFC 6464 audio-level extension). */
  activeSpeaker?: ActiveSpeakerOptions;
}

export interface ProducerInfo {
  id: string;
  connectionId: string;
  kind: 'audio' | 'video';
  codec: CodecSpec['name'];
  /** Simulcast layers (1 for a single stream). */
  layers: number;
}

export interface ConsumerInfo {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  mid: string;
  ssrc: number;
}

export interface RouterEvents {
  producer: [info: ProducerInfo];
  producerclose: [id: string, reason: ProducerCloseReason];
  consumerclose: [id: string, reason: ConsumerCloseReason];
  connectionclose: [connectionId: string, reason: ConnectionCloseReason];
  /** The active speaker or the set of speakers changed (audio producers, loudest first). */
  speakers: [active: SpeakerLevel | undefined, speakers: SpeakerLevel[]];
  /** Emitted once, after every connection closed and before the router drops its listeners. */
  close: [reason: RouterCloseReason];
}

export interface RouterStats {
  /** Live SFU connections (publishers and subscribers). */
  connections: number;
  producers: number;
  consumers: number;
  packetsIn: number;
  packetsForwarded: number;
  droppedMalformed: number;
  droppedUnknownSsrc: number;
  droppedPayloadType: number;
  /** Malformed RTP/RTCP dropped by the connections' tracks before parsing reached the SFU. */
  droppedByTracks: number;
  keyFrameRequestsSent: number;
  retransmitted: number;
  /** Subscribe/publish requests refused (unknown producer, bad SDP, limits). */
  rejectedRequests: number;
}
