/**
 * Debug timeline of an SFU subscription (`subscription setup`, debug level): milliseconds from the
 * subscribe request to its answer, the connection, the video track's transport opening and the
 * first video packet sent (a key frame: replayed from the producer's cache, or the next one).
 * `npm run bench:media` prints these next to the browser's marks. Nothing is recorded unless debug
 * logging is on.
 */
import type { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import type { Logger } from '../util/logger.ts';
import { SetupTimeline } from '../media/sessions/setupTimeline.ts';
import type { Consumer } from './Consumer.ts';

/** Starts a timeline at the subscribe request, or undefined when debug logging is off. */
export function subscribeTimeline(log: Logger): SetupTimeline | undefined {
  return log.isLevelEnabled('debug') ? new SetupTimeline() : undefined;
}

/** Follows one subscription's video consumer (the answer was just made) and logs its timeline once. */
export function traceSubscription(
  setup: SetupTimeline | undefined,
  log: Logger,
  peer: MediaPeer,
  video: { consumer: Consumer; track: MediaTrack } | undefined,
): void {
  if (!setup || !video) return;
  setup.mark('answer');
  const { consumer, track } = video;
  const offState = peer.on('state', (s) => {
    if (s === 'connected') setup.mark('connected');
  });
  track.once('open', () => setup.mark('trackOpen'));
  consumer.onFirstPacket = () => {
    setup.mark('firstKeyFrame');
    offState();
    // after the call that sent it returns: a replay counts itself, the track's other open listeners ran
    queueMicrotask(() =>
      log.debug({ consumerId: consumer.id, setup: setup.marks, replayed: consumer.stats.keyFrameReplays > 0 }, 'subscription setup'),
    );
  };
}
