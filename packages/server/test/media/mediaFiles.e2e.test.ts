/**
 * File sources decoded by headless Chromium over POST /offer: MP4/H.264 and WebM/VP8+Opus are
 * streamed without transcoding (video), an AVI with MPEG-4 Part 2 video is transcoded to VP8.
 * The files are made by ffmpeg at test time in a temporary directory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { chromiumMissing, launchChromium, webRtcPage } from '@parley-rtc/test-support/browser';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';

let server: TestServer;
let browser: Browser;
let dir: string;

const FILES = {
  mp4: ['-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac'],
  webm: ['-c:v', 'libvpx', '-deadline', 'realtime', '-g', '30', '-c:a', 'libopus'],
  avi: ['-c:v', 'mpeg4', '-g', '30', '-c:a', 'pcm_s16le'],
} as const;

before(async () => {
  if (chromiumMissing) return;
  dir = mkdtempSync(join(tmpdir(), 'parley-files-'));
  const sources: Record<string, { kind: 'file'; path: string; loop: boolean }> = {};
  for (const [ext, codecArgs] of Object.entries(FILES)) {
    const path = join(dir, `clip.${ext}`);
    execFileSync('ffmpeg', [
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '3',
      ...codecArgs,
      path,
    ]);
    sources[ext] = { kind: 'file', path, loop: true };
  }
  server = await startServer({ media: { bindAddress: '127.0.0.1', sources } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  releaseNativeWebRtc();
});

const newPage = (): Promise<Page> => webRtcPage(browser, server.app.url);

/** POST /offer for `stream` from the page; resolves with the video codec, frames decoded and audio packets. */
function play(page: Page, stream: string): Promise<{ codec: string; framesDecoded: number; audioPackets: number }> {
  return page.evaluate(async (stream) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      setTimeout(resolve, 3000);
    });
    const res = await fetch('/offer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'offer', stream }),
    });
    if (!res.ok) throw new Error(`/offer ${res.status} ${await res.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: ((await res.json()) as { sdp: string }).sdp });
    const deadline = performance.now() + 15000;
    let out = { codec: '', framesDecoded: 0, audioPackets: 0 };
    while (performance.now() < deadline) {
      const stats = await pc.getStats();
      const codecs = new Map<string, string>();
      stats.forEach((r: { type: string; id: string; mimeType?: string }) => {
        if (r.type === 'codec' && r.mimeType) codecs.set(r.id, r.mimeType);
      });
      stats.forEach((r: { type: string; kind?: string; framesDecoded?: number; packetsReceived?: number; codecId?: string }) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video') out = { ...out, framesDecoded: r.framesDecoded ?? 0, codec: codecs.get(r.codecId ?? '') ?? '' };
        if (r.kind === 'audio') out = { ...out, audioPackets: r.packetsReceived ?? 0 };
      });
      if (out.framesDecoded >= 20 && out.audioPackets >= 20) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    pc.close();
    return out;
  }, stream);
}

for (const [stream, codec] of [
  ['mp4', 'video/H264'],
  ['webm', 'video/VP8'],
  ['avi', 'video/VP8'],
] as const) {
  test(`Chromium decodes the ${stream} file source (${codec}) with audio over POST /offer`, { skip: chromiumMissing }, async () => {
    const page = await newPage();
    try {
      const r = await play(page, stream);
      assert.equal(r.codec, codec);
      assert.ok(r.framesDecoded >= 20, `framesDecoded ${r.framesDecoded}`);
      assert.ok(r.audioPackets >= 20, `audio packets ${r.audioPackets}`);
    } finally {
      await page.context().close();
    }
  });
}
