import type { LocalMedia } from './LocalMedia.ts';
import type { PeerMediaState } from './peerMessages.ts';
import type { LocalTrack, TrackSlot } from './PeerLink.ts';

/** Where a LocalMedia's tracks and flags go (the Room: its mesh links and SFU transport). */
export interface LocalMediaSink {
  setMediaState(state: PeerMediaState): void;
  setTrack(slot: TrackSlot, local: LocalTrack | null): void;
}

/**
 * Publishes a LocalMedia's current tracks and flags to `sink` and follows its changes; returns
 * the listeners' `off` functions.
 * @internal
 */
export function bindLocalMedia(media: LocalMedia, sink: LocalMediaSink): Array<() => void> {
  const publishState = () =>
    sink.setMediaState({
      audio: media.state.audio.enabled,
      video: media.state.video.enabled,
      cameraStream: media.cameraStream?.id ?? null,
      screenStream: media.screenStream?.id ?? null,
    });
  for (const [slot, local] of media.published()) sink.setTrack(slot, local);
  publishState();
  return [
    media.on('track', (slot, local) => {
      publishState();
      sink.setTrack(slot, local);
    }),
    media.on('state', publishState),
  ];
}
