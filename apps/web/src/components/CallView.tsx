import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LocalMediaState, PeerStats, RemotePeer, RemoteTrack } from '@parley-rtc/client';
import type { CallSession } from '../call/CallSession.ts';
import {
  useActiveSpeaker,
  useChatCount,
  useConnectionState,
  useLocalMedia,
  useMediaMode,
  useRecording,
  usePeers,
  usePeerStats,
  useRemoteTracks,
} from '../hooks/useCall.ts';
import { ChatPanel } from './ChatPanel.tsx';
import { Controls } from './Controls.tsx';
import { Icon } from './icons.tsx';
import { NoticeList } from './NoticeList.tsx';
import { VideoGrid } from './VideoGrid.tsx';
import type { TileModel, TileSizeHandler, TileVisibilityHandler } from './VideoTile.tsx';

/** Builds the tile list: you first, then each peer's camera, then every screen share. */
export function buildTiles(input: {
  selfName: string;
  media: LocalMediaState;
  cameraStream: MediaStream | undefined;
  screenStream: MediaStream | undefined;
  peers: RemotePeer[];
  tracks: RemoteTrack[];
  stats: ReadonlyMap<string, PeerStats>;
  /** Peer id of the active speaker, if the server announced one. */
  activeSpeaker?: string | null;
}): TileModel[] {
  const { media, peers, tracks, stats } = input;
  const tiles: TileModel[] = [
    {
      key: 'local-camera',
      peerId: 'local',
      name: input.selfName,
      source: 'camera',
      local: true,
      stream: media.video.live && input.cameraStream ? input.cameraStream : null,
      audio: media.audio.enabled,
      video: media.video.enabled,
    },
  ];
  const screens: TileModel[] = [];
  if (media.screen && input.screenStream) {
    screens.push({
      key: 'local-screen',
      peerId: 'local',
      name: input.selfName,
      source: 'screen',
      local: true,
      stream: input.screenStream,
      audio: false,
      video: true,
    });
  }
  for (const peer of peers) {
    const mine = tracks.filter((t) => t.peerId === peer.id);
    const camera = mine.find((t) => t.source === 'camera' && t.stream)?.stream ?? null;
    tiles.push({
      key: `${peer.id}-camera`,
      peerId: peer.id,
      name: peer.name,
      source: 'camera',
      local: false,
      stream: camera,
      audio: peer.media.audio,
      video: peer.media.video && camera !== null && camera.getVideoTracks().length > 0,
      connectionState: peer.connectionState,
      stats: stats.get(peer.id),
      speaking: input.activeSpeaker === peer.id,
    });
    for (const t of mine) {
      if (t.source !== 'screen' || !t.stream || t.track.kind !== 'video') continue;
      screens.push({
        key: `${peer.id}-screen-${t.track.id}`,
        peerId: peer.id,
        name: peer.name,
        source: 'screen',
        local: false,
        stream: t.stream,
        audio: false,
        video: true,
      });
    }
  }
  return [...screens, ...tiles];
}

/** The room's WHEP viewer page (active speaker), with the call's token when the room link has one. */
export function watchLink(room: string, search = window.location.search): string {
  const token = new URLSearchParams(search).get('token');
  return `/watch/room/${encodeURIComponent(room)}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

export function CallView({ session, selfName, onLeave }: { session: CallSession; selfName: string; onLeave: () => void }) {
  const peers = usePeers(session);
  const tracks = useRemoteTracks(session);
  const media = useLocalMedia(session);
  const stats = usePeerStats(session);
  const connection = useConnectionState(session);
  const chatCount = useChatCount(session);
  const mode = useMediaMode(session);
  const recording = useRecording(session);
  const activeSpeaker = useActiveSpeaker(session);
  const [chatOpen, setChatOpen] = useState(() => window.matchMedia('(min-width: 900px)').matches);
  const [seen, setSeen] = useState(chatCount);
  const [copied, setCopied] = useState(false);
  const copyTimer = useRef<ReturnType<typeof setTimeout>>(undefined);

  useEffect(() => {
    if (chatOpen) setSeen(chatCount);
  }, [chatOpen, chatCount]);
  useEffect(() => () => clearTimeout(copyTimer.current), []);

  const tiles = useMemo(
    () =>
      buildTiles({
        selfName,
        media,
        cameraStream: session.media.cameraStream,
        screenStream: session.media.screenStream,
        peers,
        tracks,
        stats,
        activeSpeaker,
      }),
    [selfName, media, session, peers, tracks, stats, activeSpeaker],
  );

  // Video nobody can see is not forwarded by the SFU (off-screen tiles, hidden page).
  const onTileVisibility = useCallback<TileVisibilityHandler>(
    (peerId, source, visible) => session.room.setVideoPaused(peerId, !visible, source),
    [session],
  );
  // The SFU forwards the simulcast layer that fits each tile.
  const onTileSize = useCallback<TileSizeHandler>(
    (peerId, source, width, height) => session.room.setVideoSize(peerId, source, width, height),
    [session],
  );

  const copyLink = () => {
    void navigator.clipboard
      ?.writeText(window.location.href)
      .then(() => {
        setCopied(true);
        clearTimeout(copyTimer.current);
        copyTimer.current = setTimeout(() => setCopied(false), 2000);
      })
      .catch(() => {});
  };

  return (
    <div className={`call${chatOpen ? ' with-chat' : ''}`} data-testid="call-view" data-connection={connection}>
      <header className="call-header">
        <div className="room-title">
          <span className="logo-dot" aria-hidden="true" />
          <h1 data-testid="room-name">{session.roomName}</h1>
          <span className="people-count" data-testid="people-count">
            {peers.length + 1} {peers.length === 0 ? 'person' : 'people'}
          </span>
          <span
            className={`room-mode room-mode-${mode}`}
            data-testid="room-mode"
            data-mode={mode}
            title={mode === 'sfu' ? 'Media goes through the server (SFU)' : 'Media goes directly between participants (mesh)'}
          >
            {mode === 'sfu' ? 'SFU' : 'mesh'}
          </span>
          {recording.recording ? (
            <span className="rec-indicator" data-testid="recording-indicator" title="This call is being recorded">
              REC
            </span>
          ) : null}
        </div>
        <div className="call-header-actions">
          <a
            className="btn ghost small"
            href={watchLink(session.roomName)}
            target="_blank"
            rel="noreferrer"
            data-testid="watch-link"
            title="Watch this room over WHEP (active speaker, everyone heard) in a new tab"
          >
            Watch
          </a>
          <button className="btn ghost small" onClick={copyLink} data-testid="copy-link" title="Copy the room link">
            <Icon name="link" /> {copied ? 'Copied' : 'Invite'}
          </button>
        </div>
      </header>
      {connection === 'reconnecting' ? (
        <div className="banner warn" data-testid="connection-banner">
          Connection to the server lost. Reconnecting…
        </div>
      ) : null}
      {connection === 'disconnected' ? (
        <div className="banner error" data-testid="connection-banner">
          Disconnected from the server.
          <button className="btn small" onClick={() => void session.rejoin().catch(() => {})}>
            Rejoin
          </button>
        </div>
      ) : null}
      {peers.length === 0 && connection === 'connected' ? (
        <p className="alone-hint" data-testid="alone-hint">
          You are the only one here. Share the link to invite others.
        </p>
      ) : null}
      <main className="stage">
        <VideoGrid tiles={tiles} onVisibility={onTileVisibility} onSize={onTileSize} />
        {chatOpen ? <ChatPanel session={session} onClose={() => setChatOpen(false)} /> : null}
      </main>
      <Controls
        session={session}
        chatOpen={chatOpen}
        unread={chatCount - seen}
        onToggleChat={() => setChatOpen((v) => !v)}
        onLeave={onLeave}
      />
      <NoticeList session={session} />
    </div>
  );
}
