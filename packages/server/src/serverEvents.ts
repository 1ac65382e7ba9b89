/**
 * What happens in the server that integrations (webhooks) follow, emitted by the features that
 * know: the SFU for tracks, the media server for recordings. Membership and chat come from
 * Signaling's own listeners.
 */
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import type { MediaSource } from '@parley-rtc/protocol';
import type { MemberInfo } from './signaling/types.ts';

export interface TrackInfo {
  /** The SFU producer id (the id in `sfu_producer`). */
  id: string;
  kind: 'audio' | 'video';
  source: MediaSource;
}

export interface ServerEventMap {
  trackPublished: [room: string, member: MemberInfo, track: TrackInfo];
  trackUnpublished: [room: string, member: MemberInfo, track: TrackInfo];
  /** A stream recording was finalised (state `done`, or `empty` when nothing was written). */
  recordingFinished: [stream: string, recording: { id: string; bytes: number; durationMs: number; state: string }];
  /** A room recording's work is over: composed (`done`), `failed` (with `error`) or `empty`. */
  roomRecordingFinished: [room: string, recording: { id: string; bytes: number; durationMs: number; state: string; error?: string }];
}

/** The app's one hub for these events; any feature may emit (a throwing listener is reported, not rethrown). */
export class ServerEvents extends TypedEmitter<ServerEventMap> {
  override emit<K extends keyof ServerEventMap>(event: K, ...args: ServerEventMap[K]): void {
    if (!this.#closed) super.emit(event, ...args);
  }

  /** Idempotent: drops every listener; later emits do nothing. */
  close(_reason: string): void {
    this.#closed = true;
    this.removeAllListeners();
  }

  #closed = false;
}
