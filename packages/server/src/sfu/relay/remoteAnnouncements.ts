/**
 * Cluster mode: a member joining (or resuming) on this node is told of the room's SFU tracks
 * published on other nodes (`sfu_producer`), as it is told of this node's by `SfuRooms`. Each node
 * keeps its publications' announcements in Redis (`RedisNodeBus.setAnnouncement`); a joiner's node
 * reads those of the producers the directory places on other nodes, and checks them with the
 * protocol schema before sending them on.
 */
import { sfuProducerInfoSchema } from '@parley-rtc/protocol';
import type { ServerEvents } from '../../serverEvents.ts';
import type { Signaling } from '../../signaling/Signaling.ts';
import type { Logger } from '../../util/logger.ts';
import type { SfuRooms } from '../SfuRooms.ts';
import type { RedisNodeBus } from './NodeBus.ts';

export interface RemoteAnnouncementsOptions {
  bus: RedisNodeBus;
  sfu: SfuRooms;
  signaling: Signaling;
  events: ServerEvents;
  log: Logger;
}

/** Starts sharing announcements; returns `off`. */
export function shareAnnouncements({ bus, sfu, signaling, events, log }: RemoteAnnouncementsOptions): () => void {
  const report = (p: Promise<unknown>, room: string): void =>
    void p.catch((err: unknown) => log.warn({ err, room }, 'sfu relay: sharing track announcements failed'));
  const offPublished = events.on('trackPublished', (room, _member, track) => {
    const info = sfu.publicationsOf(room).find((p) => p.id === track.id);
    if (info) report(bus.setAnnouncement(room, info.id, info), room);
  });
  const offUnpublished = events.on('trackUnpublished', (room, _member, track) =>
    report(bus.setAnnouncement(room, track.id, undefined), room),
  );
  const tell = (memberId: string, room: string): void =>
    report(
      bus.remoteAnnouncements(room).then((list) => {
        for (const raw of list) {
          const parsed = sfuProducerInfoSchema.safeParse(raw);
          if (parsed.success) signaling.emitTo(memberId, 'sfu_producer', parsed.data);
        }
      }),
      room,
    );
  const offMembership = signaling.onMembership({ joined: tell, resumed: tell, restarted: tell });
  return () => {
    offPublished();
    offUnpublished();
    offMembership();
  };
}
