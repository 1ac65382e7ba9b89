import type { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { Consumer } from './Consumer.ts';
import type { Publication, RouterStats } from './RouterTypes.ts';
import { Simulcast } from './Simulcast.ts';

export interface RouterStatsSources {
  connections: Iterable<{ peer: MediaPeer }>;
  publications: Iterable<Publication>;
  consumers: Iterable<Consumer>;
  /** Retransmissions by consumers that have closed since. */
  retransmittedClosed: number;
  rejected: number;
}

/** Sums a router's counters over its live connections, producers (every simulcast layer) and consumers. */
export function collectRouterStats(src: RouterStatsSources): RouterStats {
  const publications = [...src.publications];
  const consumers = [...src.consumers];
  const connections = [...src.connections];
  const s: RouterStats = {
    connections: connections.length,
    producers: publications.length,
    consumers: consumers.length,
    packetsIn: 0,
    packetsForwarded: 0,
    droppedMalformed: 0,
    droppedUnknownSsrc: 0,
    droppedPayloadType: 0,
    droppedByTracks: 0,
    keyFrameRequestsSent: 0,
    retransmitted: src.retransmittedClosed,
    rejectedRequests: src.rejected,
  };
  for (const p of publications.flatMap((x) => (x instanceof Simulcast ? x.layers : [x]))) {
    s.packetsIn += p.stats.packetsIn;
    s.packetsForwarded += p.stats.packetsForwarded;
    s.droppedMalformed += p.stats.droppedMalformed;
    s.droppedUnknownSsrc += p.stats.droppedUnknownSsrc;
    s.droppedPayloadType += p.stats.droppedPayloadType;
    s.keyFrameRequestsSent += p.stats.keyFrameRequestsSent;
  }
  for (const c of consumers) {
    s.droppedUnknownSsrc += c.stats.droppedUnknownSsrc;
    s.retransmitted += c.stats.retransmitted;
  }
  for (const e of connections) for (const t of e.peer.tracks) s.droppedByTracks += t.malformedDropped;
  return s;
}
