import { rateQuality, type PeerStats } from '@parley-rtc/client';

const LABEL = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection', unknown: 'Connecting…' } as const;

/** Three bars coloured by RTT and packet loss from getStats(). */
export function QualityBadge({ stats }: { stats: PeerStats | undefined }) {
  const quality = stats ? rateQuality(stats) : 'unknown';
  const details = stats
    ? [
        stats.rttMs !== null ? `RTT ${Math.round(stats.rttMs)} ms` : null,
        stats.lossPercent !== null ? `loss ${stats.lossPercent.toFixed(1)}%` : null,
      ]
        .filter(Boolean)
        .join(', ')
    : '';
  const title = details ? `${LABEL[quality]}: ${details}` : LABEL[quality];
  return (
    <span className={`quality quality-${quality}`} role="img" title={title} aria-label={title} data-testid="quality" data-quality={quality}>
      <i />
      <i />
      <i />
    </span>
  );
}
