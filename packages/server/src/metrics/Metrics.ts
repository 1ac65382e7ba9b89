import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Labels = Record<string, string>;
export type Sample = { labels: Labels; value: number };

/** Buckets for latencies in seconds: 5 ms to 30 s. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A family whose samples are read from elsewhere at scrape time. */
interface Collected {
  type: 'gauge' | 'counter';
  help: string;
  read: () => Sample[];
  metric?: Gauge | Counter;
  /** The label names `metric` was made with, comma-joined. */
  labelNames?: string;
}

const labelNamesOf = (labels: Labels) => Object.keys(labels).sort();
const labelKey = (labels: Labels) => JSON.stringify(labelNamesOf(labels).map((k) => [k, labels[k]]));

/**
 * The server's Prometheus metrics, kept by prom-client in a registry of their own (so several
 * servers in one process do not share counters). Counters and histograms are created on first
 * use; gauges and counters kept elsewhere are read when `/metrics` is scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #counters = new Map<string, Counter>();
  /** Counter values by name and label set, so `value()` can answer synchronously. */
  readonly #values = new Map<string, Map<string, number>>();
  readonly #histograms = new Map<string, Histogram>();
  readonly #collected = new Map<string, Collected>();
  readonly #beforeScrape = new Set<() => void>();
  readonly #loopDelay: IntervalHistogram;
  #closed = false;

  constructor() {
    this.#loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.#loopDelay.enable();
    this.gauge('parley_event_loop_lag_seconds', 'Event-loop delay (p99 over the last scrape interval).', () => {
      const p99 = this.#loopDelay.percentile(99) / 1e9;
      this.#loopDelay.reset();
      return [{ labels: {}, value: p99 }];
    });
    this.gauge('parley_process_resident_memory_bytes', 'Resident set size.', () => [{ labels: {}, value: process.memoryUsage.rss() }]);
    this.collectedCounter('parley_process_cpu_seconds_total', 'CPU time (user + system) the server process used.', () => {
      const { user, system } = process.cpuUsage();
      return [{ labels: {}, value: (user + system) / 1e6 }];
    });
  }

  /** Adds to a counter (created on first use; a name keeps the label names of its first use). */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let counter = this.#counters.get(name);
    if (!counter) {
      counter = new Counter({ name, help, labelNames: labelNamesOf(labels), registers: [this.registry] });
      this.#counters.set(name, counter);
    }
    counter.inc(labels, by);
    let values = this.#values.get(name);
    if (!values) this.#values.set(name, (values = new Map<string, number>()));
    const key = labelKey(labels);
    values.set(key, (values.get(key) ?? 0) + by);
  }

  /** Records one observation (e.g. a latency in seconds) in a histogram created on first use. */
  observe(name: string, help: string, value: number, labels: Labels = {}, buckets: number[] = LATENCY_BUCKETS): void {
    let histogram = this.#histograms.get(name);
    if (!histogram) {
      histogram = new Histogram({ name, help, labelNames: labelNamesOf(labels), buckets, registers: [this.registry] });
      this.#histograms.set(name, histogram);
    }
    histogram.observe(labels, value);
  }

  /** A gauge whose values are read when scraped. */
  gauge(name: string, help: string, collect: () => Sample[]): void {
    this.#setCollected(name, { type: 'gauge', help, read: collect });
  }

  /** A counter kept elsewhere (it must only grow), read when scraped. */
  collectedCounter(name: string, help: string, collect: () => Sample[]): void {
    this.#setCollected(name, { type: 'counter', help, read: collect });
  }

  /** Runs `hook` at the start of every scrape, before collected families are read; returns `off`. */
  beforeScrape(hook: () => void): () => void {
    this.#beforeScrape.add(hook);
    return () => this.#beforeScrape.delete(hook);
  }

  /** Current value of a counter, for tests and logs. */
  value(name: string, labels: Labels = {}): number {
    return this.#values.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** The content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format (collected families are read now). */
  async render(): Promise<string> {
    for (const hook of this.#beforeScrape) hook();
    for (const [name, family] of this.#collected) this.#refresh(name, family);
    return this.registry.metrics();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#loopDelay.disable();
    this.#beforeScrape.clear();
    this.registry.clear();
  }

  #setCollected(name: string, family: Collected): void {
    const previous = this.#collected.get(name);
    if (previous?.metric) this.registry.removeSingleMetric(name);
    this.#collected.set(name, family);
  }

  /** Reads a collected family; its metric is (re)made when the label names first show up or change. */
  #refresh(name: string, family: Collected): void {
    const samples = family.read();
    const labelNames = [...new Set(samples.flatMap((s) => Object.keys(s.labels)))].sort();
    if (!family.metric || family.labelNames !== labelNames.join(',')) {
      if (family.metric) this.registry.removeSingleMetric(name);
      const options = { name, help: family.help, labelNames, registers: [this.registry] };
      family.metric = family.type === 'gauge' ? new Gauge(options) : new Counter(options);
      family.labelNames = labelNames.join(',');
    }
    const metric = family.metric;
    metric.reset();
    for (const { labels, value } of samples) {
      const v = Number.isFinite(value) ? value : 0;
      if (metric instanceof Gauge) metric.set(labels, v);
      else metric.inc(labels, Math.max(0, v));
    }
  }
}
