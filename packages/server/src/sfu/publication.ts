import { randomUUID } from 'node:crypto';
import type { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { EXT_AUDIO_LEVEL, EXT_MID, EXT_RID, extmapId, type chooseIngestCodec, type SdpMedia } from '@parley-rtc/rtc/sdp';
import { Producer } from './Producer.ts';
import type { Publication } from './RouterTypes.ts';
import { Simulcast } from './Simulcast.ts';

export interface PublicationOptions {
  /** The publisher's SFU connection id. */
  connectionId: string;
  keyFrameIntervalMs: number | undefined;
  /** Audio levels (RFC 6464) of a producer, for active-speaker detection. */
  observeLevel: (producerId: string, level: number) => void;
}

/**
 * The publication for one sending section of a publisher's offer: a receiving track on the
 * publisher's connection (its MediaPeer) and a `Simulcast` (two or more rids) or a single `Producer` fed by it.
 */
export function createPublication(
  peer: MediaPeer,
  m: SdpMedia,
  match: NonNullable<ReturnType<typeof chooseIngestCodec>>,
  opts: PublicationOptions,
): Publication {
  const keyFrames = opts.keyFrameIntervalMs === undefined ? {} : { keyFrameIntervalMs: opts.keyFrameIntervalMs };
  const kind = m.kind === 'audio' ? 'audio' : 'video';
  const ridExt = kind === 'video' && m.sendRids.length >= 2 ? extmapId(m, EXT_RID) : undefined;
  if (ridExt !== undefined) {
    const midExt = extmapId(m, EXT_MID);
    const extmaps = [{ id: ridExt, uri: EXT_RID }, ...(midExt === undefined ? [] : [{ id: midExt, uri: EXT_MID }])];
    const track = peer.addTrack({
      mid: m.mid,
      kind: 'video',
      direction: 'recv',
      codec: match.codec,
      payloadType: match.payloadType,
      extmaps,
      simulcastRids: m.sendRids,
    });
    const sim = new Simulcast({
      id: `p-${randomUUID()}`,
      connectionId: opts.connectionId,
      codec: match.codec,
      payloadType: match.payloadType,
      rids: m.sendRids,
      ridExtId: ridExt,
      sendRtcp: (packet) => track.sendRtcp(packet),
      localSsrc: track.ssrc,
      ...keyFrames,
    });
    track.on('rtp', (p) => sim.receiveRtp(p));
    track.on('rtcp', (p) => sim.receiveRtcp(p));
    return sim;
  }
  const levelExt = kind === 'audio' ? extmapId(m, EXT_AUDIO_LEVEL) : undefined;
  const extmaps = levelExt === undefined ? [] : [{ id: levelExt, uri: EXT_AUDIO_LEVEL }];
  const track = peer.addTrack({ mid: m.mid, kind, direction: 'recv', codec: match.codec, payloadType: match.payloadType, extmaps });
  const producerId = `p-${randomUUID()}`;
  const producer = new Producer({
    id: producerId,
    connectionId: opts.connectionId,
    kind,
    codec: match.codec,
    payloadType: match.payloadType,
    sendKeyFrameRequest: () => track.requestKeyFrame(),
    sendRtcp: (packet) => track.sendRtcp(packet),
    localSsrc: track.ssrc,
    ...keyFrames,
    ...(levelExt === undefined
      ? {}
      : { audioLevel: { extId: levelExt, observe: (level: number) => opts.observeLevel(producerId, level) } }),
  });
  track.on('rtp', (p) => producer.receiveRtp(p));
  track.on('rtcp', (p) => producer.receiveRtcp(p));
  return producer;
}
