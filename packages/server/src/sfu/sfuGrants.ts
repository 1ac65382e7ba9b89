import type { MediaSource } from '@parley-rtc/protocol';
import type { PublishSource } from '../auth/grants.ts';

/**
 * Which publish grant (and which mute kind) a producer falls under: a screen share's video and
 * audio are `screen`; other audio is `audio`, other video `video`.
 */
export function publishSourceOf(kind: 'audio' | 'video', source: MediaSource | undefined): PublishSource {
  if (source === 'screen') return 'screen';
  return kind === 'audio' ? 'audio' : 'video';
}
