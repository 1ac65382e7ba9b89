/**
 * `parley bot`: puts N headless participants into a room of a running server, prints what each
 * receives every few seconds, and leaves cleanly on Ctrl-C (or after --duration).
 */
import { parseArgs } from 'node:util';
import { Bot } from '../Bot.ts';
import { describeReception, type BotStats } from '../stats/report.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  UsageError,
  checkUrl,
  describeError,
  eachLimited,
  interrupted,
  positiveInt,
  prepareMedia,
  tokenFor,
  type CliContext,
} from './common.ts';

export const BOT_USAGE = `usage: parley bot --room ROOM [--count N] [--url URL] [flags]

Puts N headless participants into a room: they publish a test pattern (or a file) and a tone,
take part in mesh and SFU rooms like the web app, and print what they receive. Ctrl-C leaves.

  --room ROOM          room to join (required)
  --count N            participants (default 1)
  --name NAME          name prefix (default bot; participants are NAME-1, NAME-2, …)
  --interval SECONDS   how often to print what each receives (default 5)
  --duration SECONDS   leave after this long (default: run until Ctrl-C)
  --chat TEXT          each participant says TEXT in the chat after joining
${COMMON_HELP}`;

export async function runBot(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      ...COMMON_OPTIONS,
      room: { type: 'string' },
      count: { type: 'string', default: '1' },
      name: { type: 'string', default: 'bot' },
      interval: { type: 'string', default: '5' },
      duration: { type: 'string' },
      chat: { type: 'string' },
    },
  });
  if (values.help) {
    ctx.out.write(BOT_USAGE);
    return 0;
  }
  if (!values.room) throw new UsageError('--room is required');
  const url = checkUrl(values.url);
  const count = positiveInt('count', values.count, 1);
  const intervalMs = positiveInt('interval', values.interval, 1) * 1000;
  const durationMs = values.duration === undefined ? undefined : positiveInt('duration', values.duration, 1) * 1000;
  const room = values.room;
  const media = await prepareMedia(values);

  const stop = interrupted();
  const bots: Bot[] = [];
  let failed = 0;
  await eachLimited(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const name = count === 1 ? values.name : `${values.name}-${i + 1}`;
      const bot = new Bot({
        url,
        room,
        name,
        token: tokenFor(ctx, values.token, `${name}-${process.pid}`, room, name),
        ...media,
        bindAddress: values.bind,
      });
      bot.on('mode', (mode) => ctx.out.write(`${name}: room is now in ${mode} mode\n`));
      bot.on('peerJoined', (p) => ctx.out.write(`${name}: ${p.name} joined\n`));
      bot.on('peerLeft', (p) => ctx.out.write(`${name}: ${p.name} left\n`));
      bot.on('chat', (e) => ctx.out.write(`${name}: chat #${e.seq} from ${e.from.name}: ${e.text}\n`));
      bot.on('error', (e) => ctx.err.write(`${name}: ${e.message}\n`));
      bot.on('closed', (reason) => {
        if (reason !== 'left' && reason !== 'interrupted') ctx.err.write(`${name}: closed: ${reason}\n`);
      });
      try {
        const self = await bot.join();
        bots.push(bot);
        ctx.out.write(`${name}: joined ${room} as ${self.id} (${bot.mode} mode, ${bot.peers.length} others)\n`);
        if (values.chat !== undefined) await bot.sendChat(values.chat);
      } catch (err) {
        failed++;
        ctx.err.write(`${name}: could not join: ${describeError(err)}\n`);
      }
    },
  );
  if (bots.length === 0) {
    stop.dispose();
    return 1;
  }

  let previous = new Map<Bot, BotStats>();
  let last = performance.now();
  const report = setInterval(() => {
    const now = performance.now();
    const next = new Map<Bot, BotStats>();
    for (const bot of bots) {
      const s = bot.stats();
      next.set(bot, s);
      ctx.out.write(`${s.name} [${s.state}, ${s.mode}, ${s.members} others]\n`);
      for (const line of describeReception(s, previous.get(bot), now - last)) ctx.out.write(`${line}\n`);
    }
    previous = next;
    last = now;
  }, intervalMs);
  const allClosed = new Promise<string>((resolve) => {
    let open = bots.length;
    for (const bot of bots) bot.on('closed', () => --open === 0 && resolve('every participant was closed'));
  });
  const timeout =
    durationMs === undefined
      ? undefined
      : new Promise<string>((resolve) => setTimeout(() => resolve('duration reached'), durationMs).unref());
  const why = await Promise.race([stop.promise, allClosed, ...(timeout ? [timeout] : [])]);
  stop.dispose();
  clearInterval(report);
  ctx.out.write(`stopping (${why}): leaving the room\n`);
  const unexpected = bots.filter((b) => b.state === 'closed').length;
  await Promise.all(bots.map((b) => b.leave()));
  return failed > 0 || unexpected > 0 ? 1 : 0;
}
