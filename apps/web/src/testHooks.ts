import type { ChatChannel, LocalMedia, PeerStats, Room } from '@parley-rtc/client';

/**
 * What the app exposes on `window.__parley` for end-to-end tests and for debugging in the
 * console. Read-only use is intended; nothing in the app depends on it.
 */
export interface ParleyTestHooks {
  room: Room;
  media: LocalMedia;
  stats(): Promise<PeerStats[]>;
  /** The chat's data-path counters (`chat.stats`). */
  chat: ChatChannel;
}

declare global {
  interface Window {
    __parley?: ParleyTestHooks;
  }
}

export function exposeTestHooks(hooks: ParleyTestHooks): () => void {
  window.__parley = hooks;
  return () => {
    if (window.__parley === hooks) delete window.__parley;
  };
}
