/**
 * `parley load-test`: publishers and subscribers in one or more rooms of a running server,
 * joined with bounded concurrency, measured over --duration, then one table. Exit code 1 when a
 * participant failed to join, was dropped, or a subscriber got no video from a video publisher.
 */
import { parseArgs } from 'node:util';
import { runLoadTest, type LoadTestProgress, type LoadTestResult } from '../load/LoadTest.ts';
import { fmt, percentile, table } from '../stats/report.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  UsageError,
  checkUrl,
  interrupted,
  positiveInt,
  prepareMedia,
  tokenFor,
  type CliContext,
} from './common.ts';

export const LOAD_TEST_USAGE = `usage: parley load-test [--room ROOM | --rooms K] [--publishers P] [--subscribers S] [flags]

Puts P publishers and S subscribers into each room (headless participants on node-datachannel,
sending pre-encoded media), measures for --duration seconds, prints one table, and leaves.

  --room ROOM            room name (default load-test); with --rooms K: ROOM-1 … ROOM-K
  --rooms K              rooms to load (default 1)
  --publishers P         publishers per room (default 1)
  --subscribers S        subscribers per room, publishing nothing (default 10)
  --video-publishers N   how many publishers send video (default: all)
  --audio-publishers N   how many publishers send audio (default: all)
  --duration SECONDS     measurement window after everyone joined (default 30)
  --concurrency N        joins in flight at once while ramping up (default 10)
  --metrics-token TOKEN  bearer token for the server's /metrics, if it is protected
  --json                 print the result as JSON instead of a table
  --simulcast            (not supported by the bots yet: refused)
${COMMON_HELP}`;

function progressLine(p: LoadTestProgress): string {
  const t = `${(p.elapsedMs / 1000).toFixed(0)} s`;
  if (p.phase === 'joining') return `[${t}] joining: ${p.connected}/${p.planned} connected, ${p.failed} failed`;
  if (p.phase === 'running')
    return `[${t}] measuring: ${p.connected} connected, ${p.failed} failed, ${fmt((p.remainingMs ?? 0) / 1000)} s left`;
  return `[${t}] leaving`;
}

/** The result as the table a user reads after a run. */
export function formatResult(r: LoadTestResult): string {
  const subs = r.subscribers;
  const med = (f: (s: LoadTestResult['subscribers'][number]) => number | undefined, d = 0) =>
    fmt(
      percentile(
        subs.map(f).filter((v): v is number => v !== undefined),
        50,
      ),
      d,
    );
  const failed = Object.entries(r.failures)
    .map(([code, n]) => `${code} × ${n}`)
    .join(', ');
  const rows: string[][] = [
    ['metric', 'value'],
    ['participants connected', `${r.connected} / ${r.planned}`],
    ['failed to join', failed || '0'],
    ['dropped during the run', String(r.closedEarly.length)],
    ['join time median / p90 (ms)', `${fmt(percentile(r.joinMs, 50))} / ${fmt(percentile(r.joinMs, 90))}`],
    ['time to first frame median / p90 (ms)', `${fmt(percentile(r.ttffMs, 50))} / ${fmt(percentile(r.ttffMs, 90))}`],
    ['subscribers without video', String(r.missingVideo)],
    ['received kbit/s per subscriber (median)', med((s) => s.kbps)],
    ['packet loss % (median / worst)', `${med((s) => s.lossPct, 2)} / ${fmt(Math.max(0, ...subs.map((s) => s.lossPct)), 2)}`],
    ['video fps per track (median)', med((s) => s.fps, 1)],
    ['jitter ms (median)', med((s) => s.jitterMs, 1)],
    ['server CPU (% of one core)', fmt(r.serverCpuPercent, 1)],
    ['server RSS (MiB)', fmt(r.serverRssBytes === undefined ? undefined : r.serverRssBytes / 2 ** 20)],
    ['load generator CPU (% of one core)', fmt(r.generatorCpuPercent, 1)],
    ['window (s)', fmt(r.windowMs / 1000, 1)],
  ];
  const dropped = r.closedEarly.slice(0, 10).map((d) => `  dropped: ${d}`);
  return [table(rows), ...dropped].join('\n');
}

export async function runLoadTestCli(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      ...COMMON_OPTIONS,
      room: { type: 'string', default: 'load-test' },
      rooms: { type: 'string', default: '1' },
      publishers: { type: 'string', default: '1' },
      subscribers: { type: 'string', default: '10' },
      'video-publishers': { type: 'string' },
      'audio-publishers': { type: 'string' },
      duration: { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '10' },
      'metrics-token': { type: 'string' },
      json: { type: 'boolean', default: false },
      simulcast: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    ctx.out.write(LOAD_TEST_USAGE);
    return 0;
  }
  if (values.simulcast) throw new UsageError('--simulcast: the bots do not publish simulcast layers yet');
  const url = checkUrl(values.url);
  const roomCount = positiveInt('rooms', values.rooms, 1);
  const publishers = positiveInt('publishers', values.publishers, 0);
  const subscribers = positiveInt('subscribers', values.subscribers, 0);
  if (publishers + subscribers === 0) throw new UsageError('nothing to do: --publishers and --subscribers are both 0');
  const videoPublishers =
    values['video-publishers'] === undefined ? publishers : positiveInt('video-publishers', values['video-publishers'], 0);
  const audioPublishers =
    values['audio-publishers'] === undefined ? publishers : positiveInt('audio-publishers', values['audio-publishers'], 0);
  if (videoPublishers > publishers || audioPublishers > publishers)
    throw new UsageError('--video-publishers and --audio-publishers cannot exceed --publishers');
  const rooms = roomCount === 1 ? [values.room] : Array.from({ length: roomCount }, (_, i) => `${values.room}-${i + 1}`);
  const media = await prepareMedia(values);

  const stop = interrupted();
  const tty = 'isTTY' in ctx.err && ctx.err.isTTY === true;
  let lastPrinted = 0;
  try {
    const result = await runLoadTest({
      url,
      rooms,
      publishers,
      subscribers,
      videoPublishers: media.video ? videoPublishers : 0,
      audioPublishers: media.audio ? audioPublishers : 0,
      durationMs: positiveInt('duration', values.duration, 1) * 1000,
      concurrency: positiveInt('concurrency', values.concurrency, 1),
      ...media,
      token: (identity, room, name) => tokenFor(ctx, values.token, identity, room, name),
      bindAddress: values.bind,
      metricsToken: values['metrics-token'],
      stop: stop.promise,
      onProgress: (p) => {
        // On a terminal the line updates in place; in a log, one line every 5 s.
        if (tty) ctx.err.write(`\r${progressLine(p)}\u001b[K`);
        else if (p.elapsedMs - lastPrinted >= 5000) {
          lastPrinted = p.elapsedMs;
          ctx.err.write(`${progressLine(p)}\n`);
        }
      },
    });
    if (tty) ctx.err.write('\n');
    ctx.out.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatResult(result)}\n`);
    const ok = result.connected === result.planned && result.closedEarly.length === 0 && result.missingVideo === 0;
    return ok ? 0 : 1;
  } finally {
    stop.dispose();
  }
}
