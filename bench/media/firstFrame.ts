// Time to first frame in Chromium: one new receive-only viewer per run, each after the previous
// one left. The first frame is taken the moment the decoder hands it to the track
// (MediaStreamTrackProcessor), not from getStats, whose results Chromium caches for up to 50 ms.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, mediaContext } from '@parley-rtc/test-support/browser';

/** Browser-side steps of one run, ms from createOffer. */
export interface BrowserMarks {
  offer: number;
  answer: number;
  iceConnected: number;
  connected: number;
  firstFrame: number;
}

/**
 * `offer`: aiortc-style JSON, the client gathers all its candidates first (as aiortc's example client
 * does). `whep`: WHEP, same gathering. `whep-trickle`: WHEP as trickling players do it — POST at once,
 * then PATCH the candidates as they come (RFC 9725 §4.3).
 */
export type Route = 'offer' | 'whep' | 'whep-trickle';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? NaN;

/** A fresh context and page on `origin`, ready to evaluate bench code (one per run). */
export async function viewerPage(browser: Browser, origin: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await mediaContext(browser, origin);
  const page = await context.newPage();
  await page.goto(`${origin}/healthz`);
  // tsx compiles named inner functions with esbuild's __name helper, which the page lacks
  await page.evaluate('globalThis.__name = (f) => f');
  await page.evaluate(async () => (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop()));
  return { context, page };
}

/** The default path of each route on a file-stream server (Parley or the aiortc anchor). */
const DEFAULT_PATH: Record<Route, string> = { offer: '/offer', whep: '/whep/file', 'whep-trickle': '/whep/file' };

export async function timeToFirstFrame(
  origin: string,
  runs: number,
  route: Route = 'offer',
  path: string = DEFAULT_PATH[route],
): Promise<BrowserMarks[]> {
  const browser = await launchChromium();
  const out: BrowserMarks[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const { context, page } = await viewerPage(browser, origin);
      const marks = await page.evaluate(
        async ({ route, path, slowAfterMs }) => {
          const whep = route !== 'offer';
          const trickle = route === 'whep-trickle';
          const t0 = performance.now();
          const m = { offer: NaN, answer: NaN, iceConnected: NaN, connected: NaN, firstFrame: NaN };
          const pc = new RTCPeerConnection({ iceServers: [] });
          pc.oniceconnectionstatechange = () => {
            if (pc.iceConnectionState === 'connected' && Number.isNaN(m.iceConnected)) m.iceConnected = performance.now() - t0;
          };
          pc.onconnectionstatechange = () => {
            if (pc.connectionState === 'connected' && Number.isNaN(m.connected)) m.connected = performance.now() - t0;
          };
          type Reader = { read(): Promise<{ value?: { close(): void } }>; cancel(): Promise<void> };
          type Processor = new (init: { track: MediaStreamTrack }) => { readable: { getReader(): Reader } };
          const Processor = (globalThis as { MediaStreamTrackProcessor?: Processor }).MediaStreamTrackProcessor;
          let frame: Promise<number> | undefined;
          pc.ontrack = (e) => {
            if (e.track.kind !== 'video' || !Processor || frame) return;
            const reader = new Processor({ track: e.track }).readable.getReader();
            frame = reader.read().then(({ value }) => {
              const at = performance.now() - t0;
              value?.close();
              void reader.cancel();
              return at;
            });
          };
          const pending: RTCIceCandidate[] = [];
          let location: string | null = null;
          const patch = (c: RTCIceCandidate) =>
            void fetch(location!, {
              method: 'PATCH',
              headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
              body: `a=mid:${c.sdpMid ?? '0'}\r\na=${c.candidate}\r\n`,
            });
          pc.onicecandidate = (e) => {
            if (!trickle || !e.candidate || !e.candidate.candidate) return;
            if (location) patch(e.candidate);
            else pending.push(e.candidate);
          };
          pc.addTransceiver('video', { direction: 'recvonly' });
          pc.addTransceiver('audio', { direction: 'recvonly' });
          await pc.setLocalDescription(await pc.createOffer());
          if (!trickle) {
            await new Promise<void>((r) => {
              if (pc.iceGatheringState === 'complete') r();
              pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
              setTimeout(r, 2000);
            });
          }
          m.offer = performance.now() - t0;
          const res = whep
            ? await fetch(path, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp })
            : await fetch(path, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'offer' }),
              });
          const answer: { sdp: string; type: RTCSdpType } = whep
            ? { sdp: await res.text(), type: 'answer' }
            : ((await res.json()) as { sdp: string; type: RTCSdpType });
          m.answer = performance.now() - t0;
          const entry = performance.getEntriesByType('resource').at(-1) as PerformanceResourceTiming | undefined;
          if (entry) {
            (m as Record<string, number>)['requestStart'] = entry.requestStart - t0;
            (m as Record<string, number>)['responseStart'] = entry.responseStart - t0;
            (m as Record<string, number>)['fetchStart'] = entry.fetchStart - t0;
          }
          await pc.setRemoteDescription(answer);
          if (trickle) {
            location = res.headers.get('location');
            for (const c of pending.splice(0)) patch(c);
          }
          const timeout = new Promise<number>((r) => setTimeout(() => r(NaN), 15000));
          if (frame) {
            m.firstFrame = await Promise.race([frame, timeout]);
          } else {
            // no MediaStreamTrackProcessor: poll the decoder's frame count (up to 50 ms late)
            const deadline = performance.now() + 15000;
            while (performance.now() < deadline) {
              let frames = 0;
              (await pc.getStats()).forEach((r: { type: string; kind?: string; framesDecoded?: number }) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded ?? 0;
              });
              if (frames > 0) {
                m.firstFrame = performance.now() - t0;
                break;
              }
              await new Promise((r) => setTimeout(r, 10));
            }
          }
          if (slowAfterMs > 0 && m.firstFrame - m.connected > slowAfterMs) {
            // a slow run: what the receiver saw (debug output)
            (await pc.getStats()).forEach((r: Record<string, unknown>) => {
              if (r['type'] === 'inbound-rtp' && r['kind'] === 'video') {
                (m as Record<string, unknown>)['receiver'] = [
                  'packetsReceived',
                  'packetsLost',
                  'nackCount',
                  'pliCount',
                  'firCount',
                  'framesReceived',
                  'framesDropped',
                  'keyFramesDecoded',
                  'framesDecoded',
                ]
                  .map((k) => `${k}=${String(r[k])}`)
                  .join(' ');
              }
            });
          }
          pc.close();
          return m;
        },
        { route, path, slowAfterMs: process.env['TTFF_DEBUG'] ? 200 : 0 },
      );
      out.push(marks);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

/** Medians of each step: the browser's (from createOffer) and, when reported, the server's (from the request). */
export function breakdown(marks: BrowserMarks[], setups: Array<Record<string, number>> | undefined): string {
  const keys = ['offer', 'answer', 'iceConnected', 'connected', 'firstFrame'] as const;
  const browser = keys.map((k) => `${k} ${median(marks.map((m) => m[k])).toFixed(0)}`).join(', ');
  const names = ['peer', 'answer', 'iceConnected', 'connected', 'trackOpen', 'firstKeyFrame'];
  let server = '';
  if (setups && setups.length > 0) {
    server = `; server (from request, median of ${setups.length}): ${names
      .map((k) => `${k} ${median(setups.map((s) => s[k] ?? NaN).filter((x) => !Number.isNaN(x))).toFixed(1)}`)
      .join(', ')}`;
  }
  let perRun = '';
  if (process.env['TTFF_DEBUG']) {
    const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(0));
    const r = (m: BrowserMarks, k: string) => (m as unknown as Record<string, number>)[k];
    perRun = `\n  per run (offer/fetchStart/requestStart/responseStart/answer/connected/firstFrame): ${marks.map((m) => [m.offer, r(m, 'fetchStart'), r(m, 'requestStart'), r(m, 'responseStart'), m.answer, m.connected, m.firstFrame].map(f).join('/')).join(' ')}`;
    if (setups && setups.length > 0) {
      perRun += `\n  server per run (${names.join('/')}): ${setups.map((s) => names.map((k) => f(s[k])).join('/')).join(' ')}`;
    }
  }
  if (process.env['TTFF_DEBUG']) {
    for (const [i, m] of marks.entries()) {
      const receiver = (m as unknown as Record<string, string>)['receiver'];
      if (receiver) perRun += `\n  slow run ${i + 1}: ${receiver}`;
    }
  }
  return `browser (median ms from createOffer): ${browser}${server}${perRun}`;
}
