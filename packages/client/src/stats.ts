/** Connection statistics for one remote peer, distilled from RTCPeerConnection.getStats(). */
export interface PeerStats {
  peerId: string;
  /** Round-trip time of the selected candidate pair, in ms. */
  rttMs: number | null;
  /** Inbound RTP packets lost / (lost + received), over the whole call, in percent. */
  lossPercent: number | null;
  bytesReceived: number;
  bytesSent: number;
  inboundVideo: InboundVideoStats[];
}

export interface InboundVideoStats {
  /** The remote track's id as the receiver sees it (MediaStreamTrack.id). */
  trackIdentifier: string;
  mid: string | null;
  framesDecoded: number;
  frameWidth: number | null;
  frameHeight: number | null;
}

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

function num(obj: Record<string, unknown>, key: string): number | null {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function str(obj: Record<string, unknown>, key: string): string | null {
  const v = obj[key];
  return typeof v === 'string' ? v : null;
}

/**
 * Reduces a stats report (any iterable of stats objects, e.g. `report.values()`) to PeerStats.
 * Pure: every field is read defensively because browsers differ in what they report.
 * @internal
 */
export function summarizeStats(peerId: string, stats: Iterable<Record<string, unknown>>): PeerStats {
  const all = [...stats];
  const byId = new Map(all.map((s) => [str(s, 'id') ?? '', s]));
  let rttMs: number | null = null;
  let lost = 0;
  let received = 0;
  let sawInbound = false;
  let bytesReceived = 0;
  let bytesSent = 0;
  const inboundVideo: InboundVideoStats[] = [];

  for (const s of all) {
    const type = str(s, 'type');
    if (type === 'transport') {
      const pair = byId.get(str(s, 'selectedCandidatePairId') ?? '');
      const rtt = pair ? num(pair, 'currentRoundTripTime') : null;
      if (rtt !== null) rttMs = rtt * 1000;
      bytesReceived += num(s, 'bytesReceived') ?? 0;
      bytesSent += num(s, 'bytesSent') ?? 0;
    } else if (type === 'candidate-pair' && rttMs === null && s['nominated'] === true && str(s, 'state') === 'succeeded') {
      const rtt = num(s, 'currentRoundTripTime');
      if (rtt !== null) rttMs = rtt * 1000;
    } else if (type === 'inbound-rtp') {
      sawInbound = true;
      lost += Math.max(0, num(s, 'packetsLost') ?? 0);
      received += num(s, 'packetsReceived') ?? 0;
      if (str(s, 'kind') === 'video') {
        inboundVideo.push({
          trackIdentifier: str(s, 'trackIdentifier') ?? '',
          mid: str(s, 'mid'),
          framesDecoded: num(s, 'framesDecoded') ?? 0,
          frameWidth: num(s, 'frameWidth'),
          frameHeight: num(s, 'frameHeight'),
        });
      }
    }
  }
  const lossPercent = sawInbound && lost + received > 0 ? (100 * lost) / (lost + received) : null;
  return { peerId, rttMs, lossPercent, bytesReceived, bytesSent, inboundVideo };
}

/** A coarse rating for a quality indicator: RTT and loss thresholds from common VoIP practice. */
export function rateQuality(stats: Pick<PeerStats, 'rttMs' | 'lossPercent'>): Quality {
  const { rttMs, lossPercent } = stats;
  if (rttMs === null && lossPercent === null) return 'unknown';
  const rtt = rttMs ?? 0;
  const loss = lossPercent ?? 0;
  if (rtt > 400 || loss > 8) return 'poor';
  if (rtt > 150 || loss > 2) return 'fair';
  return 'good';
}

/** One encoding (simulcast layer) a publishing connection sends, from its outbound-rtp stats. */
export interface PublishLayerStats {
  /** The layer's RTP stream id (`q`, `h`, `f`); undefined without simulcast. */
  rid: string | undefined;
  width?: number;
  height?: number;
  framesEncoded?: number;
  bytesSent: number;
  /** False when the browser stopped sending this layer (e.g. the source is too small for it). */
  active?: boolean;
  /** Why the encoder sends less than asked: `bandwidth`, `cpu`, `other` or `none`. */
  qualityLimitationReason?: string;
}

/** What one of our SFU publications sends. */
export interface PublishStats {
  slot: 'audio' | 'video' | 'screen';
  /** One entry per outbound RTP stream, in `rids` order when given (lowest layer first). */
  layers: PublishLayerStats[];
  /** The congestion controller's estimate for the selected candidate pair, in bit/s. */
  availableOutgoingBitrate?: number;
}

/**
 * Reduces a publishing connection's stats report to PublishStats. Pure, and as defensive as
 * summarizeStats. `rids` orders the layers (unknown rids go last, in report order).
 * @internal
 */
export function summarizePublishStats(
  slot: PublishStats['slot'],
  stats: Iterable<Record<string, unknown>>,
  rids: readonly string[] = [],
): PublishStats {
  const all = [...stats];
  const byId = new Map(all.map((s) => [str(s, 'id') ?? '', s]));
  const layers: PublishLayerStats[] = [];
  let pair: Record<string, unknown> | undefined;
  for (const s of all) {
    const type = str(s, 'type');
    if (type === 'transport') {
      pair = byId.get(str(s, 'selectedCandidatePairId') ?? '') ?? pair;
    } else if (type === 'candidate-pair' && !pair && s['nominated'] === true && str(s, 'state') === 'succeeded') {
      pair = s;
    } else if (type === 'outbound-rtp') {
      const layer: PublishLayerStats = { rid: str(s, 'rid') ?? undefined, bytesSent: num(s, 'bytesSent') ?? 0 };
      const width = num(s, 'frameWidth');
      const height = num(s, 'frameHeight');
      const framesEncoded = num(s, 'framesEncoded');
      const reason = str(s, 'qualityLimitationReason');
      if (width !== null) layer.width = width;
      if (height !== null) layer.height = height;
      if (framesEncoded !== null) layer.framesEncoded = framesEncoded;
      if (typeof s['active'] === 'boolean') layer.active = s['active'];
      if (reason !== null) layer.qualityLimitationReason = reason;
      layers.push(layer);
    }
  }
  const rank = (rid: string | undefined) => {
    const i = rid === undefined ? -1 : rids.indexOf(rid);
    return i < 0 ? rids.length : i;
  };
  layers.sort((a, b) => rank(a.rid) - rank(b.rid));
  const out: PublishStats = { slot, layers };
  const bitrate = pair ? num(pair, 'availableOutgoingBitrate') : null;
  if (bitrate !== null) out.availableOutgoingBitrate = bitrate;
  return out;
}
