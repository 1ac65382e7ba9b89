/**
 * SFU rooms in the web app, beyond forwarding: the active speaker (from the audio levels Chromium
 * puts in its RTP) is highlighted on the others' screens, and a remote tile that cannot be seen
 * stops receiving video (the SFU pauses that consumer) until it is visible again.
 * The server uses `sfuMeshMaxPeers: 1`, so two pages are already an SFU room.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { browserSuite, inboundVideo, waitForDecoding, withDiagnostics } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

/** Frames decoded so far from `peerId`'s video on `page` (sum over that peer's tracks). */
async function framesFrom(page: Page, peerId: string): Promise<number> {
  return (await inboundVideo(page)).filter((v) => v.peerId === peerId).reduce((n, v) => n + v.framesDecoded, 0);
}

const selfId = (page: Page): Promise<string> => page.evaluate(() => window.__parley?.room.self?.id ?? '');

/**
 * A WAV that sounds like talking to a level meter: a 300 Hz tone at about -12 dBFS, swelling and
 * fading four times a second (measured ≈ 20–45 -dBov). Chromium's default fake microphone beeps
 * every 500 ms and decays from ≈ 25 to ≈ 127 -dBov in between (measured), so its mean level sits
 * at the SFU's speaking threshold (70): the highlight came in about 1 run of 4 (also before the
 * per-slot SFU publishing).
 */
function speechLikeWav(seconds = 4, rate = 48_000): Buffer {
  const samples = seconds * rate;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const envelope = 0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t);
    wav.writeInt16LE(Math.round(0.25 * 32767 * envelope * Math.sin(2 * Math.PI * 300 * t)), 44 + i * 2);
  }
  return wav;
}

describe('web app: active speaker and paused video in an SFU room', { skip: chromiumMissing }, () => {
  const audioDir = mkdtempSync(joinPath(tmpdir(), 'parley-voice-'));
  const suite = browserSuite({
    config: { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } },
    chromiumArgs: () => {
      const voice = joinPath(audioDir, 'voice.wav');
      writeFileSync(voice, speechLikeWav());
      return [`--use-file-for-fake-audio-capture=${voice}`];
    },
    cleanup: () => rmSync(audioDir, { recursive: true, force: true }),
  });
  const pages = suite.pages;

  it('the one who talks is highlighted; a hidden tile gets no video until it shows again', () =>
    withDiagnostics(
      () => pages,
      async () => {
        const kim = await suite.join('speak', 'Kim');
        const lou = await suite.join('speak', 'Lou');
        for (const p of pages) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
        // Lou mutes: a disabled track sends silence, so only Kim's (fake, humming) microphone speaks.
        await lou.page.getByTestId('toggle-mic').click();
        await waitForDecoding(lou.page, 1, { growth: 15, timeoutMs: 30_000 });

        // Kim has no link to Lou (SFU), yet sees Lou's mic muted: the flags come through the server.
        const louId = await selfId(lou.page);
        await kim.page
          .locator(`[data-testid="tile"][data-peer-id="${louId}"] [data-testid="muted-indicator"]`)
          .waitFor({ timeout: 10_000 });
        const kimId = await selfId(kim.page);
        const kimTile = lou.page.locator(`[data-testid="tile"][data-peer-id="${kimId}"]`);
        await kimTile.and(lou.page.locator('[data-speaking="true"]')).waitFor({ timeout: 20_000 });
        assert.equal(await lou.page.evaluate(() => window.__parley?.room.activeSpeaker), kimId);
        assert.equal(await kim.page.locator('[data-testid="tile"][data-speaking="true"]').count(), 0, 'Kim sees nobody else speaking');

        // Lou's tile of Kim leaves the screen: the SFU stops forwarding Kim's video to Lou.
        await kimTile.evaluate((el) => {
          (el as HTMLElement).style.display = 'none';
        });
        let previous = -1;
        let last = 0;
        await waitFor(
          async () => {
            last = await framesFrom(lou.page, kimId);
            const still = last === previous;
            previous = last;
            return still;
          },
          20_000,
          "Kim's video to stop decoding at Lou",
          async () => String(last),
        );
        // Stopped, not just slow: while Kim decodes 30 more of Lou's frames (Lou → Kim is not
        // paused, so that is our clock), Lou decodes nothing new from Kim.
        const stoppedAt = last;
        await waitForDecoding(kim.page, 1, { growth: 30, timeoutMs: 20_000 });
        assert.ok((await framesFrom(lou.page, kimId)) <= stoppedAt + 1, 'no video while the tile is hidden');

        // Visible again: video resumes (from a key frame the SFU asks for).
        await kimTile.evaluate((el) => {
          (el as HTMLElement).style.display = '';
        });
        await waitFor(
          async () => (await framesFrom(lou.page, kimId)) >= stoppedAt + 15,
          20_000,
          "Kim's video decoding again",
          async () => String(await framesFrom(lou.page, kimId)),
        );
      },
    ));
});
