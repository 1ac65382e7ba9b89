import { FILE_TRANSFER_TOPIC } from '@parley-rtc/protocol';
import { ClientError } from '../errors.ts';
import type { FileTransferLink } from './link.ts';

/** What `roomFileLink` needs from a Room (a `Room` is one). */
export interface FileRoomDataRef {
  readonly peers: readonly { id: string }[];
  sendData(payload: string | Uint8Array, options?: { reliable?: boolean; to?: string[]; topic?: string }): Promise<void>;
  dataPathOpen(memberId?: string): boolean;
  on(event: 'data', fn: (message: { from: string; topic: string; payload: string | Uint8Array }) => void): () => void;
}

/** How often path changes are looked for while someone listens (the Room has no path event). */
const PATH_POLL_MS = 250;

/**
 * A FileTransferLink over a Room's app data API: reliable messages on topic `parley.file`, to one
 * member. A send to a member whose path is not open fails at once (rather than waiting in the
 * Room's queue), so a transfer pauses and resumes when the path is back.
 */
export function roomFileLink(room: FileRoomDataRef): FileTransferLink {
  return {
    send(to, payload) {
      if (!room.dataPathOpen(to)) return Promise.reject(new ClientError('disconnected', `no open data path to ${to}`));
      return room.sendData(payload, { reliable: true, to: [to], topic: FILE_TRANSFER_TOPIC });
    },
    onMessage(fn) {
      return room.on('data', (m) => {
        if (m.topic === FILE_TRANSFER_TOPIC) fn(m.from, m.payload);
      });
    },
    isOpen: (memberId) => room.dataPathOpen(memberId),
    onPathChange(fn) {
      const open = new Map<string, boolean>();
      const check = () => {
        const present = new Set<string>();
        for (const { id } of room.peers) {
          present.add(id);
          const now = room.dataPathOpen(id);
          if (open.get(id) !== now) {
            const known = open.has(id);
            open.set(id, now);
            if (known || !now) fn(id, now);
          }
        }
        for (const [id, was] of open) {
          if (present.has(id)) continue;
          open.delete(id);
          if (was) fn(id, false);
        }
      };
      check();
      const timer = setInterval(check, PATH_POLL_MS);
      return () => clearInterval(timer);
    },
  };
}
