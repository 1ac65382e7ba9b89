/**
 * Headless Chromium against the media server: POST /offer (aiortc examples/server style) with a
 * data channel, WHEP playback of the test pattern, and WHEP playback of a stream published over
 * WHIP by a node-datachannel client. Media must really decode (getStats framesDecoded grows).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../../src/config.ts';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { chromiumMissing, launchChromium, webRtcPage } from '@parley-rtc/test-support/browser';
import { NodeWhipPublisher, testClip } from './clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';

const webDir = parseConfig({}).webDir;
let server: TestServer;
let browser: Browser;

before(async () => {
  if (chromiumMissing) return;
  server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  releaseNativeWebRtc();
});

const newPage = (): Promise<Page> => webRtcPage(browser, server.app.url);

/** In the page: connect via `mode` and resolve with decode stats once frames decode. */
async function watch(
  page: Page,
  mode: 'offer' | 'whep',
  stream: string,
): Promise<{ framesDecoded: number; pong: string | null; ms: number; location: string | null }> {
  return page.evaluate(
    async ({ mode, stream }) => {
      const t0 = performance.now();
      const pc = new RTCPeerConnection({ iceServers: [] });
      (window as unknown as { pcs: RTCPeerConnection[] }).pcs ??= [];
      (window as unknown as { pcs: RTCPeerConnection[] }).pcs.push(pc);
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const dc = mode === 'offer' ? pc.createDataChannel('chat') : null;
      const pong = dc
        ? new Promise<string>((resolve) => {
            dc.onopen = () => dc.send('ping 42');
            dc.onmessage = (e) => resolve(String(e.data));
          })
        : Promise.resolve(null);
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
        setTimeout(resolve, 3000);
      });
      const offer = pc.localDescription!.sdp;
      let answer: string;
      let location: string | null = null;
      if (mode === 'offer') {
        const res = await fetch('/offer', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sdp: offer, type: 'offer', stream }),
        });
        if (!res.ok) throw new Error(`/offer ${res.status} ${await res.text()}`);
        answer = ((await res.json()) as { sdp: string }).sdp;
      } else {
        const res = await fetch(`/whep/${stream}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
        if (res.status !== 201) throw new Error(`/whep ${res.status} ${await res.text()}`);
        location = res.headers.get('location');
        answer = await res.text();
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      const deadline = performance.now() + 15000;
      let framesDecoded = 0;
      let firstMs = 0;
      while (performance.now() < deadline) {
        const stats = await pc.getStats();
        stats.forEach((r: { type: string; kind?: string; framesDecoded?: number }) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') framesDecoded = r.framesDecoded ?? 0;
        });
        if (framesDecoded > 0 && firstMs === 0) firstMs = performance.now() - t0;
        if (framesDecoded >= 20) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const p = await Promise.race([pong, new Promise<string>((r) => setTimeout(() => r('no pong'), 5000))]);
      return { framesDecoded, pong: p, ms: firstMs, location };
    },
    { mode, stream },
  );
}

test('Chromium: POST /offer decodes the test pattern and the data channel answers ping with pong', { skip: chromiumMissing }, async () => {
  const page = await newPage();
  try {
    const r = await watch(page, 'offer', 'test');
    assert.ok(r.framesDecoded >= 20, `framesDecoded ${r.framesDecoded}`);
    assert.equal(r.pong, 'pong 42');
  } finally {
    await page.context().close();
  }
});

test('Chromium: WHEP /whep/test decodes frames; DELETE ends the session', { skip: chromiumMissing }, async () => {
  const page = await newPage();
  try {
    const r = await watch(page, 'whep', 'test');
    assert.ok(r.framesDecoded >= 20, `framesDecoded ${r.framesDecoded}`);
    assert.ok(r.location?.startsWith('/whep/test/'));
    const del = await fetch(`${server.app.url}${r.location}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const again = await fetch(`${server.app.url}${r.location}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  } finally {
    await page.context().close();
  }
});

test('Chromium watches over WHEP what a node-datachannel client publishes over WHIP', { skip: chromiumMissing }, async () => {
  const pub = new NodeWhipPublisher(testClip(4, 10));
  const page = await newPage();
  try {
    await pub.connect(`${server.app.url}/whip/ndc-cam`);
    const r = await watch(page, 'whep', 'ndc-cam');
    assert.ok(r.framesDecoded >= 20, `framesDecoded ${r.framesDecoded}`);
  } finally {
    await page.context().close();
    await pub.close();
  }
});

test(
  'Chromium: the Watch page plays the test stream over WHEP',
  { skip: chromiumMissing || (!existsSync(join(webDir, 'index.html')) && 'web app not built (npm run build:web)') },
  async () => {
    const page = await newPage();
    try {
      await page.goto(`${server.app.url}/watch?stream=test`);
      await page.getByTestId('watch-play').click();
      await page.waitForFunction(
        () => {
          const v = document.querySelector<HTMLVideoElement>('[data-testid="watch-video"]');
          return v !== null && v.videoWidth > 0 && v.currentTime > 0.3;
        },
        undefined,
        { timeout: 15_000 },
      );
    } finally {
      await page.context().close();
    }
  },
);
