/** Reads the server's own CPU time and memory from its Prometheus endpoint, when it is reachable. */

export interface ServerSample {
  /** performance.now() when read. */
  at: number;
  cpuSeconds: number | undefined;
  rssBytes: number | undefined;
}

function value(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Samples `/metrics`; fields are undefined when the endpoint cannot be read (e.g. behind auth). */
export async function sampleServer(url: string, bearer?: string): Promise<ServerSample> {
  const at = performance.now();
  try {
    const res = await fetch(`${url}/metrics`, {
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return { at, cpuSeconds: undefined, rssBytes: undefined };
    const text = await res.text();
    return {
      at,
      cpuSeconds: value(text, 'parley_process_cpu_seconds_total'),
      rssBytes: value(text, 'parley_process_resident_memory_bytes'),
    };
  } catch {
    return { at, cpuSeconds: undefined, rssBytes: undefined };
  }
}

/** The server's CPU use between two samples, in percent of one core. */
export function cpuPercent(a: ServerSample, b: ServerSample): number | undefined {
  if (a.cpuSeconds === undefined || b.cpuSeconds === undefined || b.at <= a.at) return undefined;
  return (100 * (b.cpuSeconds - a.cpuSeconds)) / ((b.at - a.at) / 1000);
}
