import type { RouterStats } from '../sfu/Router.ts';
import type { Metrics } from './Metrics.ts';

type Totals = Pick<RouterStats, 'packetsIn' | 'packetsForwarded' | 'keyFrameRequestsSent' | 'retransmitted'>;

/**
 * Turns per-router totals (which shrink when a router, producer or consumer closes) into
 * counters that only grow: each scrape adds what every live router gained since the last one.
 * What a router gained after the last scrape and before it closed is not counted.
 */
class GrowthSum {
  readonly #last = new WeakMap<object, number>();
  total = 0;

  add(owner: object, current: number): void {
    const gained = current - (this.#last.get(owner) ?? 0);
    if (gained > 0) this.total += gained;
    this.#last.set(owner, current);
  }
}

const COUNTERS: Array<{ key: keyof Totals; name: string; help: string }> = [
  { key: 'packetsIn', name: 'parley_sfu_packets_received_total', help: 'RTP packets the SFU received from publishers.' },
  { key: 'packetsForwarded', name: 'parley_sfu_packets_forwarded_total', help: 'RTP packets the SFU forwarded to subscribers.' },
  {
    key: 'keyFrameRequestsSent',
    name: 'parley_sfu_keyframe_requests_total',
    help: 'Key-frame requests (PLI/FIR) the SFU sent to publishers, on behalf of subscribers.',
  },
  {
    key: 'retransmitted',
    name: 'parley_sfu_nack_retransmissions_total',
    help: 'Packets the SFU retransmitted to subscribers in answer to their NACKs.',
  },
];

/** Registers the SFU's counters and gauges; `routers` lists the live routers when scraped. */
export function registerSfuMetrics(metrics: Metrics, routers: () => Iterable<{ stats(): RouterStats }>): void {
  const sums = new Map(COUNTERS.map((c) => [c.key, new GrowthSum()]));
  let live: RouterStats[] = [];
  metrics.beforeScrape(() => {
    live = [];
    for (const router of routers()) {
      const stats = router.stats();
      live.push(stats);
      for (const c of COUNTERS) sums.get(c.key)!.add(router, stats[c.key]);
    }
  });
  for (const c of COUNTERS) metrics.collectedCounter(c.name, c.help, () => [{ labels: {}, value: sums.get(c.key)!.total }]);
  metrics.gauge('parley_sfu_producers', 'Live SFU producers (published tracks).', () => [
    { labels: {}, value: live.reduce((n, r) => n + r.producers, 0) },
  ]);
  metrics.gauge('parley_sfu_consumers', 'Live SFU consumers (forwarded tracks).', () => [
    { labels: {}, value: live.reduce((n, r) => n + r.consumers, 0) },
  ]);
}
