/** What `parley bot` and `parley load-test` share: media flags, access flags, and the error type for bad flags. */
import { prepareAudioClip, prepareVideoClip, type EncodedClip } from '../media/clip.ts';

export { describeError, errorKey } from '../errors.ts';
export { eachLimited } from '../eachLimited.ts';

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Mints an access token for one participant (the `parley` CLI signs with the configured secret). */
export type MintToken = (identity: string, room: string, name: string) => string;

export interface CliContext {
  /** Present when the CLI can sign tokens (an API key and secret, or PARLEY_AUTH_SECRET). */
  mintToken?: MintToken | undefined;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** parseArgs option specs shared by both commands. */
export const COMMON_OPTIONS = {
  url: { type: 'string', default: 'http://127.0.0.1:8080' },
  token: { type: 'string' },
  video: { type: 'string', default: 'testsrc' },
  'video-size': { type: 'string', default: '320x240' },
  'video-fps': { type: 'string', default: '30' },
  'video-kbps': { type: 'string', default: '400' },
  audio: { type: 'string', default: 'tone' },
  bind: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const COMMON_HELP = `  --url URL            the Parley server (default http://127.0.0.1:8080)
  --token TOKEN        access token for every participant: one identity, so participants of
                       one room replace each other; or let the CLI mint one per participant:
                       PARLEY_AUTH_SECRET, or --api-key KEY with PARLEY_API_SECRET
  --video SOURCE       testsrc (default), a VP8 .ivf file (sent as is), any media file
                       ffmpeg can read (encoded once, cached), or none
  --video-size WxH     video size (default 320x240)
  --video-fps N        frame rate (default 30)
  --video-kbps N       VP8 bitrate, encoded once before the run (default 400)
  --audio SOURCE       tone (default: a beeping 440 Hz sine), silence, a media file, or none
  --bind ADDRESS       local address for ICE (e.g. 127.0.0.1)
  -h, --help           this help
`;

export function positiveInt(name: string, value: string | undefined, min = 0): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min} (got ${value ?? 'nothing'})`);
  return n;
}

export function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url ${value} is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be http:// or https:// (got ${url.protocol})`);
  return url.toString().replace(/\/$/, '');
}

/** Prepares (encodes once, cached) the media the flags ask for. */
export async function prepareMedia(values: {
  video: string;
  'video-size': string;
  'video-fps': string;
  'video-kbps': string;
  audio: string;
}): Promise<{ video: EncodedClip | undefined; audio: EncodedClip | undefined }> {
  const size = /^(\d{2,4})x(\d{2,4})$/.exec(values['video-size']);
  if (!size) throw new UsageError(`--video-size must look like 640x480 (got ${values['video-size']})`);
  const fps = positiveInt('video-fps', values['video-fps'], 1);
  const kbps = positiveInt('video-kbps', values['video-kbps'], 20);
  const video =
    values.video === 'none'
      ? undefined
      : await prepareVideoClip({
          source: values.video,
          width: Number(size[1]),
          height: Number(size[2]),
          fps,
          bitrateKbps: kbps,
          gop: fps * 2,
        });
  const audio = values.audio === 'none' ? undefined : await prepareAudioClip({ source: values.audio });
  return { video, audio };
}

/** The token for one participant: the given one, a minted one, or none (open mode). */
export function tokenFor(ctx: CliContext, token: string | undefined, identity: string, room: string, name: string): string | undefined {
  if (token !== undefined) return token;
  return ctx.mintToken?.(identity, room, name);
}

/** Resolves on SIGINT/SIGTERM (and removes its listeners once resolved or when `dispose` is called). */
export function interrupted(): { promise: Promise<string>; dispose: () => void } {
  let dispose = () => undefined as void;
  const promise = new Promise<string>((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      dispose();
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    dispose = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, dispose };
}
