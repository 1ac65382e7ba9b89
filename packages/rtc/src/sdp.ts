/**
 * Just enough SDP parsing to answer an offer: media sections, their mids, directions and codecs.
 * The full SDP is then handed to libdatachannel; this parser only validates and picks codecs.
 */
import { LIMITS, ParleyError } from '@parley-rtc/protocol';

export type MediaKind = 'audio' | 'video' | 'application';
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written (e.g. VP8, opus, H264). */
  name: string;
  clockRate: number;
  channels: number | undefined;
  fmtp: string | undefined;
}

export interface SdpMedia {
  kind: MediaKind;
  mid: string;
  direction: SdpDirection;
  /** Port 0 means the section is rejected/disabled. */
  port: number;
  codecs: SdpCodec[];
  ssrcs: number[];
  /** RTP header extensions offered for this section (`a=extmap:<id> <uri>`). */
  extmaps: SdpExtmap[];
  /**
   * Simulcast streams this section sends (`a=rid:<id> send` in `a=simulcast:send` order; paused
   * `~` and alternatives after the first dropped); empty without simulcast.
   */
  sendRids: string[];
}

export interface SdpExtmap {
  id: number;
  uri: string;
}

/** Header extension URIs the media layer reads. */
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/** The id `media` negotiated for header extension `uri`, if any. */
export function extmapId(media: SdpMedia, uri: string): number | undefined {
  return media.extmaps.find((e) => e.uri === uri)?.id;
}

export interface ParsedSdp {
  media: SdpMedia[];
}

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function bad(message: string): ParleyError {
  return new ParleyError('BAD_SDP', message);
}

export interface ParseSdpOptions {
  /**
   * Require a DTLS fingerprint and ICE credentials for every section in use (default true: an
   * offer we answer). False reads only the sections, e.g. to see what a relayed SDP would send.
   */
  requireTransport?: boolean;
}

/** Parses and sanity-checks an SDP; throws ParleyError BAD_SDP / PAYLOAD_TOO_LARGE. */
export function parseSdp(sdp: string, opts: ParseSdpOptions = {}): ParsedSdp {
  const requireTransport = opts.requireTransport ?? true;
  if (sdp.length > LIMITS.sdp) throw new ParleyError('PAYLOAD_TOO_LARGE', `SDP larger than ${LIMITS.sdp} bytes`);
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw bad('SDP must start with v=0');
  let sessionDirection: SdpDirection = 'sendrecv';
  let sessionHasFingerprint = false;
  let sessionHasUfrag = false;
  const media: Array<
    SdpMedia & { hasFingerprint: boolean; hasUfrag: boolean; explicitDirection: boolean; rids: string[]; simulcast: string[] | undefined }
  > = [];
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw bad(`malformed SDP line: ${line.slice(0, 40)}`);
    if (line.length > 4096) throw bad('SDP line too long');
    const current = media[media.length - 1];
    if (line.startsWith('m=')) {
      const m = /^m=(\w+) (\d+)(?:\/\d+)? ([\w/]+)((?: [\w-]+)*)$/.exec(line);
      if (!m) throw bad(`malformed m-line: ${line.slice(0, 60)}`);
      const kind = m[1];
      if (kind !== 'audio' && kind !== 'video' && kind !== 'application') throw bad(`unsupported media kind ${kind}`);
      if (media.length >= 16) throw bad('too many media sections');
      media.push({
        kind,
        mid: String(media.length),
        direction: sessionDirection,
        explicitDirection: false,
        port: Number(m[2]),
        codecs: [],
        ssrcs: [],
        extmaps: [],
        sendRids: [],
        rids: [],
        simulcast: undefined,
        hasFingerprint: false,
        hasUfrag: false,
      });
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon === -1 ? attr : attr.slice(0, colon);
    const value = colon === -1 ? '' : attr.slice(colon + 1);
    if (DIRECTIONS.has(name)) {
      if (current) {
        current.direction = name as SdpDirection;
        current.explicitDirection = true;
      } else sessionDirection = name as SdpDirection;
      continue;
    }
    if (name === 'fingerprint') {
      if (current) current.hasFingerprint = true;
      else sessionHasFingerprint = true;
      continue;
    }
    if (name === 'ice-ufrag') {
      if (current) current.hasUfrag = true;
      else sessionHasUfrag = true;
      continue;
    }
    if (!current) continue;
    if (name === 'mid') {
      if (!/^[\w-]{1,32}$/.test(value)) throw bad('bad a=mid');
      current.mid = value;
    } else if (name === 'rtpmap') {
      const r = /^(\d{1,3}) ([\w.-]+)\/(\d+)(?:\/(\d+))?$/.exec(value);
      if (!r) throw bad(`malformed a=rtpmap: ${value.slice(0, 40)}`);
      const pt = Number(r[1]);
      if (pt > 127) throw bad('payload type out of range');
      current.codecs.push({
        payloadType: pt,
        name: r[2]!,
        clockRate: Number(r[3]),
        channels: r[4] === undefined ? undefined : Number(r[4]),
        fmtp: undefined,
      });
    } else if (name === 'fmtp') {
      const f = /^(\d{1,3}) (.*)$/.exec(value);
      if (!f) continue;
      const codec = current.codecs.find((c) => c.payloadType === Number(f[1]));
      if (codec) codec.fmtp = f[2];
    } else if (name === 'ssrc') {
      const s = /^(\d{1,10}) /.exec(value);
      if (s && !current.ssrcs.includes(Number(s[1]))) current.ssrcs.push(Number(s[1]) >>> 0);
    } else if (name === 'rid') {
      const r = /^([\w-]{1,16}) send(?: |$)/.exec(value);
      if (r && current.rids.length < 8) current.rids.push(r[1]!);
    } else if (name === 'simulcast') {
      const m = /^send ([\w;,~-]{1,128})/.exec(value);
      if (m) current.simulcast = m[1]!.split(';').map((alt) => alt.split(',')[0]!);
    } else if (name === 'extmap') {
      const e = /^(\d{1,3})(?:\/\w+)? (\S{1,256})/.exec(value);
      const id = Number(e?.[1]);
      if (e && id >= 1 && id <= 255 && current.extmaps.length < 32) current.extmaps.push({ id, uri: e[2]! });
    }
  }
  if (media.length === 0) throw bad('SDP has no media section');
  const mids = new Set<string>();
  for (const m of media) {
    if (mids.has(m.mid)) throw bad(`duplicate mid ${m.mid}`);
    mids.add(m.mid);
    if (!m.explicitDirection) m.direction = sessionDirection;
    if (!requireTransport || m.port === 0) continue;
    if (!(m.hasFingerprint || sessionHasFingerprint)) throw bad('SDP has no DTLS fingerprint');
    if (!(m.hasUfrag || sessionHasUfrag)) throw bad('SDP has no ICE credentials');
  }
  return {
    media: media.map(({ kind, mid, direction, port, codecs, ssrcs, extmaps, rids, simulcast }) => ({
      kind,
      mid,
      direction,
      port,
      codecs,
      ssrcs,
      extmaps,
      // only streams both declared (a=rid) and listed active (no ~) in a=simulcast
      sendRids: (simulcast ?? []).filter((r) => !r.startsWith('~') && rids.includes(r)).slice(0, 3),
    })),
  };
}

/** The codec a media source produces, as negotiated on each peer. */
export interface CodecSpec {
  kind: 'audio' | 'video';
  /** Lower-case encoding name: vp8, h264, opus. */
  name: 'vp8' | 'h264' | 'opus';
  clockRate: number;
  channels?: number;
  /** For H.264: the profile-level-id the stream has (e.g. 42e01f). */
  profileLevelId?: string;
}

function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k) out.set(k.toLowerCase(), v ?? '');
  }
  return out;
}

/** Picks the offered payload type that carries `codec`, or undefined when the offer lacks it. */
export function matchCodec(media: SdpMedia, codec: CodecSpec): SdpCodec | undefined {
  const candidates = media.codecs.filter((c) => c.name.toLowerCase() === codec.name && c.clockRate === codec.clockRate);
  if (codec.name !== 'h264') return candidates[0];
  const mode1 = candidates.filter((c) => fmtpParams(c.fmtp).get('packetization-mode') === '1');
  const want = codec.profileLevelId?.slice(0, 2).toLowerCase();
  const sameProfile = mode1.find((c) => fmtpParams(c.fmtp).get('profile-level-id')?.slice(0, 2).toLowerCase() === want);
  return sameProfile ?? mode1[0];
}

/** Codecs this server accepts from publishers, in preference order. */
export const INGEST_VIDEO_CODECS: CodecSpec[] = [
  { kind: 'video', name: 'vp8', clockRate: 90000 },
  { kind: 'video', name: 'h264', clockRate: 90000, profileLevelId: '42e01f' },
];
export const INGEST_AUDIO_CODECS: CodecSpec[] = [{ kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 }];

/**
 * What a publisher's sending section is ingested as: the first codec of `INGEST_VIDEO_CODECS` /
 * `INGEST_AUDIO_CODECS` it offers, with the payload type it offered it under. For H.264 the
 * profile-level-id the publisher offered replaces the default (the answer and the subscribers'
 * codec match use the stream's real profile). Undefined when the section offers none of them.
 */
export function chooseIngestCodec(media: SdpMedia): { codec: CodecSpec; payloadType: number } | undefined {
  if (media.kind === 'application') return undefined;
  for (const codec of media.kind === 'video' ? INGEST_VIDEO_CODECS : INGEST_AUDIO_CODECS) {
    const offered = matchCodec(media, codec);
    if (!offered) continue;
    const profile = codec.name === 'h264' ? /^[0-9a-f]{6}$/i.exec(fmtpParams(offered.fmtp).get('profile-level-id') ?? '')?.[0] : undefined;
    return { codec: profile ? { ...codec, profileLevelId: profile.toLowerCase() } : codec, payloadType: offered.payloadType };
  }
  return undefined;
}
