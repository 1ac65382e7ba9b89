/**
 * Everything one participant receives, by remote member: each track (a mesh section, an SFU
 * consumer) has its own InboundStream; reports add them up per member and kind, so a member whose
 * video moved from a mesh link to the SFU still reads as one continuous source.
 */
import { InboundStream, type InboundSnapshot } from './InboundStream.ts';

/** A member's totals of one kind (jitter: the highest among its tracks of that kind). */
export type KindTotals = Omit<InboundSnapshot, 'kind' | 'firstPacketAt'>;

export interface MemberTotals {
  peerId: string;
  video: KindTotals;
  audio: KindTotals;
}

const empty = (): KindTotals => ({ packets: 0, bytes: 0, frames: 0, keyFrames: 0, lost: 0, jitterMs: 0, firstFrameAt: undefined });

function add(into: KindTotals, s: InboundSnapshot): void {
  into.packets += s.packets;
  into.bytes += s.bytes;
  into.frames += s.frames;
  into.keyFrames += s.keyFrames;
  into.lost += s.lost;
  into.jitterMs = Math.max(into.jitterMs, s.jitterMs);
  if (s.firstFrameAt !== undefined && (into.firstFrameAt === undefined || s.firstFrameAt < into.firstFrameAt))
    into.firstFrameAt = s.firstFrameAt;
}

export class Receivers {
  readonly #streams = new Map<string, { peerId: string; stream: InboundStream }>();

  /** The counter for one track of `peerId` (created on first use; `key` names the track). */
  stream(peerId: string, kind: 'audio' | 'video', key: string): InboundStream {
    let entry = this.#streams.get(key);
    if (!entry) {
      entry = { peerId, stream: new InboundStream(kind) };
      this.#streams.set(key, entry);
    }
    return entry.stream;
  }

  /** Totals per member, for every member anything was received from. */
  totals(): MemberTotals[] {
    const out = new Map<string, MemberTotals>();
    for (const { peerId, stream } of this.#streams.values()) {
      let m = out.get(peerId);
      if (!m) {
        m = { peerId, video: empty(), audio: empty() };
        out.set(peerId, m);
      }
      add(stream.kind === 'video' ? m.video : m.audio, stream.snapshot());
    }
    return [...out.values()];
  }

  clear(): void {
    this.#streams.clear();
  }
}
