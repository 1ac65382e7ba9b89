import { useEffect, useState } from 'react';
import type { LocalMediaState, MediaMode, PeerStats, PendingChat, RemotePeer, RemoteTrack, RoomConnectionState } from '@parley-rtc/client';
import type { ChatEntry, LogEntry } from '@parley-rtc/protocol';
import type { CallSession, Stage } from '../call/CallSession.ts';
import type { DirectTransfer } from '../call/DirectFiles.ts';
import type { Notice } from '../call/Notices.ts';
import type { Upload } from '../call/Uploads.ts';
import { useEmitterValue } from './useEmitterValue.ts';

export function useStage(session: CallSession): Stage {
  const [stage, setStage] = useState(session.stage);
  useEffect(() => {
    setStage(session.stage);
    return session.onStage(() => setStage(session.stage));
  }, [session]);
  return stage;
}

export function useMediaReady(session: CallSession): boolean {
  const [ready, setReady] = useState(session.mediaReady);
  useEffect(() => {
    setReady(session.mediaReady);
    return session.onStage(() => setReady(session.mediaReady));
  }, [session]);
  return ready;
}

export function useConnectionState(session: CallSession): RoomConnectionState {
  return useEmitterValue(session.room, ['connectionState'], () => session.room.state);
}

export function usePeers(session: CallSession): RemotePeer[] {
  return useEmitterValue(session.room, ['peerJoined', 'peerLeft', 'peerUpdated', 'connectionState'], () => session.room.peers);
}

export function useRemoteTracks(session: CallSession): RemoteTrack[] {
  return useEmitterValue(session.room, ['track', 'trackRemoved', 'peerLeft'], () => session.room.remoteTracks);
}

export function useLogEntries(session: CallSession): readonly LogEntry[] {
  // The log array is mutated in place; copy so React sees a new value.
  return useEmitterValue(session.room, ['entry'], () => [...session.room.log.entries]);
}

export function useChatCount(session: CallSession): number {
  return useEmitterValue(session.room, ['chat'], () => session.room.log.entries.filter((e): e is ChatEntry => e.kind === 'chat').length);
}

export function useLocalMedia(session: CallSession): LocalMediaState {
  return useEmitterValue(session.media, ['state', 'track'], () => session.media.state);
}

export function useDevices(session: CallSession): MediaDeviceInfo[] {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    const off = session.media.on('devices', setDevices);
    void session.media.enumerateDevices().catch(() => []);
    return off;
  }, [session]);
  return devices;
}

export function useNotices(session: CallSession): readonly Notice[] {
  return useEmitterValue(session.notices, ['change'], () => session.notices.items);
}

/** Polls getStats() every `intervalMs` while mounted; keyed by peer id. */
export function usePeerStats(session: CallSession, intervalMs = 2000): ReadonlyMap<string, PeerStats> {
  const [stats, setStats] = useState<ReadonlyMap<string, PeerStats>>(new Map());
  useEffect(() => {
    let cancelled = false;
    const poll = () => {
      session.room
        .getStats()
        .then((list) => {
          if (!cancelled) setStats(new Map(list.map((s) => [s.peerId, s])));
        })
        .catch(() => {});
    };
    poll();
    const timer = setInterval(poll, intervalMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [session, intervalMs]);
  return stats;
}

export function useUploads(session: CallSession): readonly Upload[] {
  return useEmitterValue(session.uploads, ['change'], () => session.uploads.items);
}

/** Our current peer id (changes on every reconnect; undefined while not joined). */
export function useSelfId(session: CallSession): string | undefined {
  return useEmitterValue(session.room, ['joined', 'connectionState'], () => session.room.self?.id);
}

/** How the call's media flows: peer-to-peer (`mesh`) or through the server's SFU (`sfu`). */
export function useMediaMode(session: CallSession): MediaMode {
  return useEmitterValue(session.room, ['mode', 'connectionState'], () => session.room.mode);
}

/** The active speaker's peer id (SFU rooms; the server measures audio levels), or null. */
export function useActiveSpeaker(session: CallSession): string | null {
  return useEmitterValue(session.room, ['speakers', 'mode'], () => session.room.activeSpeaker);
}

/** The room's recording indicator (everyone sees it; members with `record` can start and stop it). */
export function useRecording(session: CallSession) {
  return useEmitterValue(session.room, ['recording', 'connectionState'], () => session.room.recording.state);
}

/** Whether this member may start and stop the room's recording (its `record` grant, kept current). */
export function useCanRecord(session: CallSession): boolean {
  return useEmitterValue(session.room, ['joined', 'grantsChanged', 'connectionState'], () => session.room.recording.allowed);
}

/** Chat messages shown before their log copy: arrived over the data channel, or just sent by us. */
export function usePendingChats(session: CallSession): readonly PendingChat[] {
  return useEmitterValue(session.chat, ['pending'], () => session.chat.pending);
}

export function useDirectTransfers(session: CallSession): readonly DirectTransfer[] {
  return useEmitterValue(session.directFiles, ['change'], () => session.directFiles.items);
}
