import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  /** Gauges that are read at scrape time. */
  collect?: () => Array<{ labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A small Prometheus registry: counters, gauges and collected gauges, in the text format. */
export class Metrics {
  readonly #families = new Map<string, Family>();
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
    this.gauge('parley_process_resident_memory_bytes', 'Resident set size.', () => [
      { labels: {}, value: process.memoryUsage.rss() },
    ]);
    this.collectedCounter('parley_process_cpu_seconds_total', 'CPU time (user + system) the server process used.', () => {
      const { user, system } = process.cpuUsage();
      return [{ labels: {}, value: (user + system) / 1e6 }];
    });
  }

  /** Adds to a counter (created on first use). */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type: 'counter', values: new Map() };
      this.#families.set(name, family);
    }
    const key = labelKey(labels);
    const current = family.values.get(key);
    if (current) current.value += by;
    else family.values.set(key, { labels, value: by });
  }

  /** A gauge whose values are read when scraped. */
  gauge(name: string, help: string, collect: () => Array<{ labels: Labels; value: number }>): void {
    this.#families.set(name, { help, type: 'gauge', values: new Map(), collect });
  }

  /** A counter kept elsewhere (it must only grow), read when scraped. */
  collectedCounter(name: string, help: string, collect: () => Array<{ labels: Labels; value: number }>): void {
    this.#families.set(name, { help, type: 'counter', values: new Map(), collect });
  }

  /** Current value of a counter, for tests and logs. */
  value(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      const samples = family.collect ? family.collect() : [...family.values.values()];
      for (const { labels, value } of samples) {
        const keys = Object.keys(labels);
        const rendered = keys.length ? `{${keys.map((k) => `${k}="${escape(labels[k]!)}"`).join(',')}}` : '';
        lines.push(`${name}${rendered} ${Number.isFinite(value) ? value : 0}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#loopDelay.disable();
  }
}
