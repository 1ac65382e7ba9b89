/**
 * A tiny, framework-free WHEP (playback) client: POST a recv-only offer as application/sdp,
 * apply the answer, DELETE the session resource to stop. ICE servers come from the server's
 * `Link` headers when the caller gives none (RFC 9725 §4.4 style).
 */

export interface WhepOptions {
  /** Extra RTCPeerConnection configuration; `iceServers` defaults to the server's Link headers. */
  rtcConfig?: RTCConfiguration;
  /** Milliseconds to wait for ICE gathering before sending the offer. */
  gatheringTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** Parses `Link: <url>; rel="ice-server"; username=…; credential=…` headers. */
export function parseIceLinks(header: string | null): RTCIceServer[] {
  if (!header) return [];
  const out: RTCIceServer[] = [];
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /<([^>]+)>(.*)/.exec(part.trim());
    if (!m || !/rel="?ice-server"?/.test(m[2] ?? '')) continue;
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[2] ?? '')?.[1];
    const server: RTCIceServer = { urls: m[1]! };
    const username = param('username');
    const credential = param('credential');
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    out.push(server);
  }
  return out;
}

/**
 * Waits for ICE gathering to complete (or a deadline), so the offer carries its candidates.
 * @internal
 */
export function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      resolve();
    };
    const onChange = () => pc.iceGatheringState === 'complete' && done();
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

/** Error from a WHIP/WHEP endpoint, with the server's `{error:{code,message}}` when it sent one. */
export class WhipWhepError extends Error {
  override name = 'WhipWhepError';
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @internal */
export async function errorFrom(res: Response): Promise<WhipWhepError> {
  const text = await res.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null) {
      const e = body.error as { code?: unknown; message?: unknown };
      return new WhipWhepError(
        res.status,
        typeof e.code === 'string' ? e.code : undefined,
        typeof e.message === 'string' ? e.message : text,
      );
    }
  } catch {
    // not JSON
  }
  return new WhipWhepError(res.status, undefined, text || res.statusText);
}

/**
 * POSTs an offer and returns the answer and the session URL (shared by WHIP and WHEP).
 * @internal
 */
export async function exchangeSdp(
  endpoint: string,
  offer: string,
  doFetch: typeof fetch,
): Promise<{ answer: string; resource: string; iceServers: RTCIceServer[] }> {
  const res = await doFetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
  if (res.status !== 201) throw await errorFrom(res);
  const location = res.headers.get('location');
  if (!location) throw new WhipWhepError(res.status, undefined, 'the server sent no Location header');
  return {
    answer: await res.text(),
    resource: new URL(location, new URL(endpoint, globalThis.location?.href)).toString(),
    iceServers: parseIceLinks(res.headers.get('link')),
  };
}

/**
 * The WHIP/WHEP offer/answer: creates the offer, waits for ICE gathering, POSTs it to
 * `endpoint` and applies the answer. `onResource` gets the session's URL as soon as the server
 * created it, so a failure while applying the answer can still DELETE it.
 * @internal
 */
export async function negotiate(
  pc: RTCPeerConnection,
  endpoint: string,
  doFetch: typeof fetch,
  gatheringTimeoutMs: number,
  onResource: (url: string) => void,
): Promise<void> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, gatheringTimeoutMs);
  const { answer, resource } = await exchangeSdp(endpoint, pc.localDescription?.sdp ?? '', doFetch);
  onResource(resource);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
}

export class WhepPlayer {
  readonly pc: RTCPeerConnection;
  readonly stream = new MediaStream();
  #resource: string | undefined;
  #fetch: typeof fetch;
  #closed = false;

  private constructor(pc: RTCPeerConnection, doFetch: typeof fetch) {
    this.pc = pc;
    this.#fetch = doFetch;
    pc.addEventListener('track', (e) => this.stream.addTrack(e.track));
  }

  /** Starts playback of `endpoint` (e.g. `/whep/test`); resolves once the answer is applied. */
  static async play(endpoint: string, options: WhepOptions = {}): Promise<WhepPlayer> {
    const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const pc = new RTCPeerConnection({ iceServers: [], ...options.rtcConfig });
    const player = new WhepPlayer(pc, doFetch);
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await negotiate(pc, endpoint, doFetch, options.gatheringTimeoutMs ?? 2000, (url) => (player.#resource = url));
      return player;
    } catch (err) {
      await player.close();
      throw err;
    }
  }

  /** Stops playback and deletes the session on the server. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stream.getTracks().forEach((t) => t.stop());
    this.pc.close();
    if (this.#resource) await this.#fetch(this.#resource, { method: 'DELETE' }).catch(() => undefined);
  }
}
