import { useEffect, useRef } from 'react';
import type { PeerStats } from '@parley-rtc/client';
import { VideoSizeReporter } from '../call/VideoSizeReporter.ts';
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
  /** This peer is the room's active speaker. */
  speaking?: boolean;
}

/** Remote tiles report whether they can be seen (on screen and the page visible). */
export type TileVisibilityHandler = (peerId: string, source: TileModel['source'], visible: boolean) => void;

/** Remote tiles report the size they are shown at, in device pixels. */
export type TileSizeHandler = (peerId: string, source: TileModel['source'], width: number, height: number) => void;

/**
 * Calls `onVisibility` when a remote tile scrolls out of (or into) view or the page is hidden (or
 * shown), so the SFU can stop forwarding video nobody sees.
 */
function useVisibility(ref: React.RefObject<HTMLElement | null>, tile: TileModel, onVisibility: TileVisibilityHandler | undefined): void {
  const { peerId, local, source } = tile;
  useEffect(() => {
    const el = ref.current;
    if (!el || !onVisibility || local || typeof IntersectionObserver === 'undefined') return;
    let onScreen = true;
    let last: boolean | undefined;
    const report = () => {
      const visible = onScreen && document.visibilityState === 'visible';
      if (visible === last) return;
      last = visible;
      onVisibility(peerId, source, visible);
    };
    const observer = new IntersectionObserver((entries) => {
      for (const e of entries) onScreen = e.isIntersecting;
      report();
    });
    observer.observe(el);
    document.addEventListener('visibilitychange', report);
    return () => {
      observer.disconnect();
      document.removeEventListener('visibilitychange', report);
      if (last === false) onVisibility(peerId, source, true);
    };
  }, [ref, peerId, local, source, onVisibility]);
}

/**
 * Reports a remote tile's rendered size (CSS pixels × devicePixelRatio) through `onSize`, so the
 * SFU can forward the smallest simulcast layer that looks sharp in it. Resizes are debounced and
 * small changes skipped (VideoSizeReporter).
 */
function useRenderedSize(ref: React.RefObject<HTMLElement | null>, tile: TileModel, onSize: TileSizeHandler | undefined): void {
  const { peerId, local, source } = tile;
  useEffect(() => {
    const el = ref.current;
    if (!el || !onSize || local || typeof ResizeObserver === 'undefined') return;
    const reporter = new VideoSizeReporter(({ width, height }) => onSize(peerId, source, width, height));
    const observer = new ResizeObserver((entries) => {
      for (const e of entries) reporter.observe(e.contentRect.width, e.contentRect.height, window.devicePixelRatio || 1);
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      reporter.stop();
    };
  }, [ref, peerId, local, source, onSize]);
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).slice(0, 2);
  return parts.map((p) => p[0]?.toUpperCase() ?? '').join('') || '?';
}

export function VideoTile({
  tile,
  onVisibility,
  onSize,
}: {
  tile: TileModel;
  onVisibility?: TileVisibilityHandler | undefined;
  onSize?: TileSizeHandler | undefined;
}) {
  const ref = useRef<HTMLElement>(null);
  useVisibility(ref, tile, onVisibility);
  useRenderedSize(ref, tile, onSize);
  const showVideo = tile.stream !== null && tile.video;
  const connecting = !tile.local && tile.connectionState !== undefined && tile.connectionState !== 'connected';
  return (
    <figure
      ref={ref}
      className={`tile tile-${tile.source}${showVideo ? '' : ' tile-novideo'}${tile.speaking ? ' tile-speaking' : ''}`}
      data-speaking={tile.speaking ? 'true' : 'false'}
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
