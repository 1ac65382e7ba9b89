import { classifyIceUrl, type DiagnosticsResponse, type IceUrlKind } from '@parley-rtc/protocol';

/** One ICE candidate as gathered in the browser (parsed from its SDP line). */
export interface GatheredCandidate {
  type: 'host' | 'srflx' | 'prflx' | 'relay' | 'unknown';
  protocol: 'udp' | 'tcp' | 'unknown';
  address: string;
}

/** An `icecandidateerror`: the ICE server URL, STUN/TURN error code (401, 701…) and text. */
export interface GatherError {
  url: string;
  code: number;
  text: string;
}

export interface ProbeResult {
  candidates: GatheredCandidate[];
  errors: GatherError[];
  /** Gathering did not complete before the deadline. */
  timedOut: boolean;
}

/** A relay-only probe against one TURN URL. */
export interface RelayProbe {
  url: string;
  kind: IceUrlKind;
  result: ProbeResult;
}

export type Verdict = 'works' | 'blocked' | 'untested';

export interface Check {
  verdict: Verdict;
  /** One plain-language line for the user. */
  detail: string;
}

export interface Advice {
  /** Stable code, for tests and docs. */
  code:
    | 'all-good'
    | 'no-turn'
    | 'turn-without-secret'
    | 'no-ice-servers'
    | 'udp-blocked-tcp-works'
    | 'no-path'
    | 'turn-auth-failed'
    | 'turn-unreachable'
    | 'no-tcp-turn'
    | 'clock-skew'
    | 'media-unavailable';
  level: 'ok' | 'info' | 'warning' | 'error';
  text: string;
}

export interface DiagnosisInput {
  diagnostics: DiagnosticsResponse;
  /** Estimated (this device's clock − the server's clock), ms. */
  clockSkewMs: number;
  /** Probe with every configured server and no transport restriction. */
  all: ProbeResult;
  relays: RelayProbe[];
  /** Result of asking for camera and microphone; undefined when not tried. */
  media?: { ok: true } | { ok: false; error: string } | undefined;
}

export interface Diagnosis {
  udp: Check;
  tcp: Check;
  relay: Check;
  advice: Advice[];
}

/** Clock differences above this are reported (TURN and access tokens carry expiry times). */
export const CLOCK_SKEW_WARN_MS = 5 * 60_000;

const DOCS = 'docs/deployment.md (section "TURN (coturn)")';

/**
 * Turns raw gathering results into verdicts and advice. Pure, so the rules are unit-tested; the
 * page only runs the probes and renders this.
 */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const { diagnostics: d, all, relays } = input;
  const relayWorks = (p: RelayProbe) => p.result.candidates.some((c) => c.type === 'relay');
  const udpRelays = relays.filter((p) => p.kind === 'turn-udp');
  const tcpRelays = relays.filter((p) => p.kind === 'turn-tcp' || p.kind === 'turns');
  const srflxUdp = all.candidates.some((c) => c.type === 'srflx' && c.protocol === 'udp');
  const hasStun = d.configured.stun.length > 0;
  const turnConfigured = d.turn.enabled && relays.length > 0;

  let udp: Check;
  if (srflxUdp || udpRelays.some(relayWorks)) {
    udp = {
      verdict: 'works',
      detail: udpRelays.some(relayWorks)
        ? 'UDP works: the TURN server answered over UDP.'
        : 'UDP works: the STUN server answered over UDP.',
    };
  } else if (hasStun || udpRelays.length > 0) {
    udp = { verdict: 'blocked', detail: 'UDP seems blocked: no STUN or TURN server answered over UDP.' };
  } else {
    udp = { verdict: 'untested', detail: 'UDP was not tested: the server offers no STUN or UDP TURN server to test against.' };
  }

  let tcp: Check;
  if (tcpRelays.some(relayWorks)) {
    const tls = tcpRelays.some((p) => p.kind === 'turns' && relayWorks(p));
    tcp = { verdict: 'works', detail: `TCP works: the TURN server relays over ${tls ? 'TLS' : 'TCP'}.` };
  } else if (tcpRelays.length > 0) {
    tcp = { verdict: 'blocked', detail: 'TCP relay failed: the TURN server could not be used over TCP/TLS.' };
  } else {
    tcp = { verdict: 'untested', detail: 'TCP was not tested: the server offers no TURN over TCP or TLS.' };
  }

  let relay: Check;
  const working = relays.filter(relayWorks);
  if (working.length > 0) {
    relay = { verdict: 'works', detail: `TURN relay works (${working.map((p) => p.url).join(', ')}).` };
  } else if (turnConfigured) {
    relay = { verdict: 'blocked', detail: 'TURN relay failed: no relay address could be allocated.' };
  } else {
    relay = { verdict: 'untested', detail: 'No TURN server is configured.' };
  }

  const advice: Advice[] = [];
  if (d.turn.urlsWithoutSecret) {
    advice.push({
      code: 'turn-without-secret',
      level: 'error',
      text: `TURN URLs are configured but no TURN secret, so the server offers no TURN. Ask the admin to set turn.secret (PARLEY_TURN_SECRET), see ${DOCS}.`,
    });
  } else if (!d.turn.enabled) {
    advice.push({
      code: 'no-turn',
      level: 'warning',
      text: `No TURN configured: calls across strict NATs or firewalls may fail. Ask the admin to configure coturn, see ${DOCS}.`,
    });
  }
  if (!d.turn.enabled && !hasStun && d.iceServers.length === 0) {
    advice.push({
      code: 'no-ice-servers',
      level: 'info',
      text: 'The server offers no STUN or TURN server: calls will only connect between devices that can reach each other directly (e.g. on the same network).',
    });
  }

  const authFailed = relays.some((p) => !relayWorks(p) && p.result.errors.some((e) => e.code === 401));
  if (authFailed) {
    advice.push({
      code: 'turn-auth-failed',
      level: 'error',
      text: "The TURN server refused the credentials Parley gave out. Ask the admin to check that turn.secret equals coturn's static-auth-secret and that the clocks of the Parley and TURN servers are in sync (NTP).",
    });
  }

  if (udp.verdict === 'blocked' && tcp.verdict === 'works') {
    advice.push({
      code: 'udp-blocked-tcp-works',
      level: 'info',
      text: 'Your network blocks UDP; calls will use TURN over TCP/TLS. They will work, with a little more delay.',
    });
  } else if (turnConfigured && relay.verdict === 'blocked' && !authFailed) {
    advice.push({
      code: relays.every((p) => p.result.errors.length > 0 || p.result.timedOut) ? 'turn-unreachable' : 'no-path',
      level: 'error',
      text: 'The TURN server cannot be reached from your network, over UDP or TCP: calls to people outside your network will probably fail. Try another network, or ask the admin to offer TURN over TLS on port 443 (turns:).',
    });
  } else if (udp.verdict === 'blocked' && tcp.verdict !== 'works') {
    advice.push({
      code: 'no-path',
      level: 'error',
      text: 'Your network blocks UDP and no TCP relay is available: calls will probably fail. Try another network, or ask the admin to configure TURN over TCP/TLS.',
    });
  }
  if (d.turn.enabled && tcpRelays.length === 0 && relay.verdict === 'works') {
    advice.push({
      code: 'no-tcp-turn',
      level: 'info',
      text: 'The server offers TURN over UDP only: people on networks that block UDP will not be able to connect. Admins can add turn:…?transport=tcp and turns: URLs.',
    });
  }

  if (Math.abs(input.clockSkewMs) > CLOCK_SKEW_WARN_MS) {
    const minutes = Math.round(Math.abs(input.clockSkewMs) / 60_000);
    advice.push({
      code: 'clock-skew',
      level: 'warning',
      text: `This device's clock is ${minutes} minutes ${input.clockSkewMs > 0 ? 'ahead of' : 'behind'} the server's. Expiring links and credentials may be refused: set the clock automatically.`,
    });
  }
  if (input.media && !input.media.ok) {
    advice.push({
      code: 'media-unavailable',
      level: 'warning',
      text: `Camera or microphone unavailable (${input.media.error}): you can still join, but others will not see or hear you.`,
    });
  }
  if (relay.verdict === 'works' && udp.verdict !== 'blocked' && !advice.some((a) => a.level === 'error' || a.level === 'warning')) {
    advice.unshift({
      code: 'all-good',
      level: 'ok',
      text: 'Your network is fine for calls: the TURN relay works, so calls should connect even across strict NATs.',
    });
  }
  return { udp, tcp, relay, advice };
}

/** Parses an `a=candidate`/`candidate:` line: `candidate:F 1 udp PRIO ADDR PORT typ TYPE …`. */
export function parseCandidate(line: string): GatheredCandidate {
  const parts = line.replace(/^a=/, '').trim().split(/\s+/);
  const protocol = (parts[2] ?? '').toLowerCase();
  const typIndex = parts.indexOf('typ');
  const type = typIndex >= 0 ? parts[typIndex + 1] : undefined;
  return {
    type: type === 'host' || type === 'srflx' || type === 'prflx' || type === 'relay' ? type : 'unknown',
    protocol: protocol === 'udp' || protocol === 'tcp' ? protocol : 'unknown',
    address: parts[4] ?? '',
  };
}

/** The TURN URLs of a server list, one probe each (with that server's credentials). */
export function turnProbes(servers: DiagnosticsResponse['iceServers']): Array<{ url: string; kind: IceUrlKind; server: RTCIceServer }> {
  const out: Array<{ url: string; kind: IceUrlKind; server: RTCIceServer }> = [];
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      const kind = classifyIceUrl(url);
      if (kind === undefined || kind === 'stun') continue;
      out.push({
        url,
        kind,
        server: {
          urls: url,
          ...(server.username === undefined ? {} : { username: server.username }),
          ...(server.credential === undefined ? {} : { credential: server.credential }),
        },
      });
    }
  }
  return out;
}
