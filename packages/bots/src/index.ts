export { Bot } from './Bot.ts';
export type { BotEvents, BotMode, BotOptions, BotState } from './Bot.ts';
export {
  FfmpegMissingError,
  clipCacheDir,
  opusPacketSamples,
  prepareAudioClip,
  prepareVideoClip,
  readIvf,
  readOggOpus,
  silenceClip,
} from './media/clip.ts';
export type { AudioClipOptions, ClipFrame, EncodedClip, VideoClipOptions } from './media/clip.ts';
export { Playout, asksForKeyFrame } from './media/Playout.ts';
export type { RtpSink } from './media/Playout.ts';
export { describeReception, fmt, lossPercent, percentile, table } from './stats/report.ts';
export type { BotStats, ReceivedFrom, ReceivedKind } from './stats/report.ts';
