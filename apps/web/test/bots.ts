/**
 * Headless participants for the browser tests: they make up the rest of a room so that no test
 * runs more than two Chromium pages (two cores hold two pages encoding video; five do not).
 */
import { Bot, prepareAudioClip, prepareVideoClip, type BotOptions, type EncodedClip } from '@parley-rtc/bots';
import { waitFor } from '@parley-rtc/test-support/poll';

let media: Promise<{ video: EncodedClip; audio: EncodedClip }> | undefined;

/** A small VP8 test pattern and a beeping tone, encoded once per machine. */
export function botMedia(): Promise<{ video: EncodedClip; audio: EncodedClip }> {
  media ??= Promise.all([
    prepareVideoClip({ source: 'testsrc', width: 320, height: 240, fps: 15, bitrateKbps: 250, gop: 30, seconds: 6 }),
    prepareAudioClip({ source: 'tone', seconds: 4 }),
  ]).then(([video, audio]) => ({ video, audio }));
  return media;
}

/** A bot that publishes video and audio, joined to `room`. */
export async function joinBot(url: string, room: string, name: string, options: Partial<BotOptions> = {}): Promise<Bot> {
  const bot = new Bot({ url, room, name, ...(await botMedia()), bindAddress: '127.0.0.1', ...options });
  await bot.join();
  return bot;
}

/** Video frames `bot` has received from the member called `name`. */
export function framesFrom(bot: Bot, name: string): number {
  return bot.stats().received.find((r) => r.name === name)?.video.frames ?? 0;
}

/** Waits until `bot` has received `frames` more video frames from each named member. */
export async function botReceives(bot: Bot, names: string[], options: { frames: number; timeoutMs: number }): Promise<void> {
  const base = new Map(names.map((n) => [n, framesFrom(bot, n)]));
  await waitFor(
    async () => names.every((n) => framesFrom(bot, n) >= base.get(n)! + options.frames),
    options.timeoutMs,
    `${bot.options.name} receiving video from ${names.join(', ')}`,
    async () => JSON.stringify(bot.stats()),
  );
}
