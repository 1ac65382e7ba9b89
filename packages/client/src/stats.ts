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
