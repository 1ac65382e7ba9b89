import type { SfuProducerInfo } from '@parley-rtc/protocol';
import type { LocalTrack, TrackSlot } from './PeerLink.ts';
import { SfuTransport, type SfuTransportOptions } from './SfuTransport.ts';

/**
 * An SFU transport for the Room's ModeController, primed with our local tracks and the producers
 * announced so far (not started).
 * @internal
 */
export function createRoomSfu(
  options: SfuTransportOptions,
  tracks: Array<[TrackSlot, LocalTrack]>,
  producers: readonly SfuProducerInfo[],
): SfuTransport {
  const sfu = new SfuTransport(options);
  for (const [slot, local] of tracks) sfu.setTrack(slot, local);
  for (const p of producers) sfu.addProducer(p);
  return sfu;
}
