import type { PeerStats } from '@parley/client';
import { Icon } from './icons.tsx';
import { QualityBadge } from './QualityBadge.tsx';
import { Video } from './Video.tsx';

export interface TileModel {
  key: string;
  peerId: string;
  name: string;
  source: 'camera' | 'screen';
  local: boolean;
  stream: MediaStream | null;
  /** Mic is live and unmuted. */
  audio: boolean;
  /** Camera is live and on (screen tiles: always true). */
  video: boolean;
  /** Remote tiles: the peer connection state. */
  connectionState?: RTCPeerConnectionState;
  stats?: PeerStats | undefined;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).slice(0, 2);
  return parts.map((p) => p[0]?.toUpperCase() ?? '').join('') || '?';
}

export function VideoTile({ tile }: { tile: TileModel }) {
  const showVideo = tile.stream !== null && tile.video;
  const connecting = !tile.local && tile.connectionState !== undefined && tile.connectionState !== 'connected';
  return (
    <figure
      className={`tile tile-${tile.source}${showVideo ? '' : ' tile-novideo'}`}
      data-testid="tile"
      data-peer-id={tile.peerId}
      data-source={tile.source}
      data-local={tile.local ? 'true' : 'false'}
    >
      {/* The element stays mounted while the camera is off: it still plays the peer's audio. */}
      {tile.stream ? <Video stream={tile.stream} muted={tile.local} mirrored={tile.local && tile.source === 'camera'} /> : null}
      {showVideo ? null : (
        <div className="avatar" aria-hidden="true">
          <span>{initials(tile.name)}</span>
        </div>
      )}
      <figcaption className="tile-label">
        {tile.source === 'camera' && !tile.audio ? (
          <span className="muted-indicator" data-testid="muted-indicator" title="Microphone off">
            <Icon name="micOff" />
          </span>
        ) : null}
        {tile.source === 'screen' ? <Icon name="screen" /> : null}
        <span className="tile-name" data-testid="tile-name">
          {tile.local ? `${tile.name} (you)` : tile.name}
          {tile.source === 'screen' ? ' — screen' : ''}
        </span>
        {!tile.local && tile.source === 'camera' ? <QualityBadge stats={tile.stats} /> : null}
      </figcaption>
      {connecting ? (
        <div className="tile-status" data-testid="tile-status">
          {tile.connectionState === 'failed' || tile.connectionState === 'disconnected' ? 'Connection lost, retrying…' : 'Connecting…'}
        </div>
      ) : null}
    </figure>
  );
}
